/* Run charts of the monthly quality report: minutes and shares, each with its standard's target line. */
(function () {
  "use strict";
  var english = document.documentElement.lang === "en";
  function draw() {
    var data = JSON.parse(document.getElementById("data-report").textContent);
    [["minutes", english ? " min" : " 分钟"], ["ratio", "%"]].forEach(function (pair) {
      var kind = pair[0], unit = pair[1];
      var el = document.getElementById("chart-" + kind);
      var chart = echarts.init(el);
      chart.setOption({
        animation: false,
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + unit; } },
        legend: { type: "scroll", top: 0 },
        grid: { left: 48, right: 16, top: 40, bottom: 32 },
        xAxis: { type: "category", data: data.months },
        yAxis: { type: "value", axisLabel: { formatter: "{value}" + (kind === "ratio" ? "%" : "") } },
        series: data[kind].map(function (s) {
          var line = { name: english ? s.name_en : s.name, type: "line", data: s.data, connectNulls: false };
          if (s.target != null) {
            line.markLine = { symbol: "none", lineStyle: { type: "dashed" }, data: [{ yAxis: s.target }],
                              label: { formatter: (english ? "target " : "标准 ") + s.target } };
          }
          return line;
        })
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
    document.body.dataset.chartsDrawn = "true";
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
