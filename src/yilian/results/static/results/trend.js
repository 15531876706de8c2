/* Trend charts of a patient's results: one line per item across institutions, the reference interval as
   a band, abnormal points amber and critical ones red, the source institution in the tooltip; a click on a
   point opens its report. The data and the words come from the page (json_script "data-trends");
   no network requests. Times arrive as the local (Asia/Shanghai) wall clock in milliseconds read as UTC,
   and the chart uses UTC, so the axis shows local time whatever the browser's time zone. */
(function () {
  "use strict";
  var NORMAL = "#1f6feb", ABNORMAL = "#d97706", CRITICAL = "#c81e1e", BAND = "rgba(46, 160, 67, 0.12)";

  function colour(p) { return p.critical ? CRITICAL : (p.abnormal ? ABNORMAL : NORMAL); }

  function escape(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function bandOf(series, labels) {
    var band = series.band;
    if (!band) { return {}; }
    var text = labels.reference + " " + (band.low == null ? "" : band.low) + "–" + (band.high == null ? "" : band.high);
    if (band.low != null && band.high != null) {
      return { markArea: { silent: true, itemStyle: { color: BAND },
                           label: { show: false }, data: [[{ yAxis: band.low, name: text }, { yAxis: band.high }]] } };
    }
    return { markLine: { silent: true, symbol: "none", lineStyle: { type: "dashed", color: "#2ea043" },
                         label: { formatter: text }, data: [{ yAxis: band.low != null ? band.low : band.high }] } };
  }

  function tooltip(p, series, labels) {
    var lines = ["<strong>" + escape(p.at) + "</strong>",
                 escape(series.name) + ": <strong>" + escape(p.text) + "</strong> " + escape(series.unit) +
                 (p.flag && p.flag !== "N" ? " (" + escape(p.flag) + ")" : "")];
    if (p.critical) { lines.push("<strong>" + escape(labels.critical) + "</strong>"); }
    if (p.status === "preliminary") { lines.push(escape(labels.preliminary)); }
    if (p.reference) { lines.push(escape(labels.reference) + ": " + escape(p.reference)); }
    lines.push(escape(labels.source) + ": " + escape(p.source));
    return lines.join("<br>");
  }

  function option(series, labels) {
    var values = series.points.map(function (p) { return p.value; });
    if (series.band) {
      if (series.band.low != null) { values.push(series.band.low); }
      if (series.band.high != null) { values.push(series.band.high); }
    }
    var line = {
      name: series.name, type: "line", showSymbol: true, symbol: "circle", lineStyle: { color: NORMAL },
      data: series.points.map(function (p) {
        return { value: [p.t, p.value], point: p,
                 symbolSize: p.critical ? 14 : (p.abnormal ? 11 : 8), itemStyle: { color: colour(p) } };
      })
    };
    var band = bandOf(series, labels);
    if (band.markArea) { line.markArea = band.markArea; }
    if (band.markLine) { line.markLine = band.markLine; }
    // The axis spans the values and the band, a little wider, on round numbers of the range's magnitude.
    var low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    var pad = (high - low) * 0.1 || Math.abs(high) * 0.1 || 1;
    var step = Math.pow(10, Math.floor(Math.log10(high - low + 2 * pad)));
    return {
      animation: false, useUTC: true,
      grid: { left: 48, right: 16, top: 24, bottom: 32 },
      tooltip: { trigger: "item", confine: true,
                 formatter: function (item) { return tooltip(item.data.point, series, labels); } },
      xAxis: { type: "time", axisLabel: { hideOverlap: true, formatter: {
        year: "{yyyy}", month: "{yyyy}-{MM}", day: "{MM}-{dd}", hour: "{HH}:{mm}", minute: "{HH}:{mm}" } } },
      yAxis: { type: "value", name: series.unit, min: Math.floor((low - pad) / step) * step,
               max: Math.ceil((high + pad) / step) * step },
      series: [line]
    };
  }

  function draw() {
    var source = document.getElementById("data-trends");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var charts = [];
    document.querySelectorAll("[data-trend-chart]").forEach(function (el) {
      var series = data.items[Number(el.dataset.trendChart)];
      if (!series) { return; }
      var chart = echarts.init(el);
      chart.setOption(option(series, data.labels));
      chart.on("click", function (item) {
        var url = item.data && item.data.point && item.data.point.url;
        if (url) { window.location.href = url; }
      });
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
    document.body.dataset.chartsDrawn = "true";
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
