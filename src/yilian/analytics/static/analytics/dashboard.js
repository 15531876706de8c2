/* Draws the dashboard charts from the JSON the page carries. No network requests. */
(function () {
  "use strict";
  function data(id) { return JSON.parse(document.getElementById(id).textContent); }
  var english = document.documentElement.lang === "en";
  function draw() {
    var visits = data("data-visits");
    var trend = data("data-trend");
    var visitsChart = echarts.init(document.getElementById("chart-visits"));
    visitsChart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 48, right: 16, top: 40, bottom: 32 },
      xAxis: { type: "category", data: visits.months },
      yAxis: { type: "value" },
      series: visits.series.map(function (s) { return { name: s.name, type: "bar", stack: "visits", data: s.data }; })
    });
    var trendChart = echarts.init(document.getElementById("chart-trend"));
    trendChart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 40, bottom: 32 },
      xAxis: { type: "category", data: trend.months },
      yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      series: trend.series.map(function (s) {
        return { name: english ? s.name_en : s.name, type: "line", data: s.data, connectNulls: false };
      })
    });
    // Shares on the left axis (%), waiting times on the right (minutes).
    var outpatient = data("data-outpatient");
    var outpatientChart = echarts.init(document.getElementById("chart-outpatient"));
    outpatientChart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 48, right: 56, top: 40, bottom: 32 },
      xAxis: { type: "category", data: outpatient.months },
      yAxis: [
        { type: "value", axisLabel: { formatter: "{value}%" } },
        { type: "value", axisLabel: { formatter: english ? "{value} min" : "{value} 分钟" } }
      ],
      series: outpatient.series.map(function (s) {
        var minutes = s.unit === "minutes";
        return { name: english ? s.name_en : s.name, type: "line", data: s.data, connectNulls: false,
                 yAxisIndex: minutes ? 1 : 0, lineStyle: minutes ? { type: "dashed" } : undefined,
                 tooltip: { valueFormatter: function (v) {
                   return v == null ? "—" : v + (minutes ? (english ? " min" : " 分钟") : "%"); } } };
      })
    });
    document.body.dataset.chartsDrawn = "true";
    window.addEventListener("resize", function () {
      visitsChart.resize(); trendChart.resize(); outpatientChart.resize();
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
