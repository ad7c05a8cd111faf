// Draws the admin dashboard's charts (templates/admin/analytics/dashboard.html) from the
// JSON block the page carries; the same numbers are in the table beside each chart.
(function () {
  "use strict";

  var PALETTE = ["#417690", "#e0a030", "#6a9f58", "#b5525c", "#7a68a6", "#4f9db0", "#8c7b6b"];

  function money(value) {
    return "$" + Number(value).toLocaleString("en-US", {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
  }

  function draw(canvas, chart) {
    var horizontal = Boolean(chart.horizontal);
    var valueAxis = horizontal ? "x" : "y";
    var scales = { x: { stacked: chart.stacked }, y: { stacked: chart.stacked } };
    scales[valueAxis].beginAtZero = true;
    if (chart.money) {
      scales[valueAxis].ticks = { callback: money };
    }
    return new window.Chart(canvas, {
      type: chart.type,
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (dataset, index) {
          var colour = PALETTE[index % PALETTE.length];
          return {
            label: dataset.label,
            data: dataset.data,
            backgroundColor: colour,
            borderColor: colour,
          };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        scales: scales,
        plugins: {
          legend: { display: chart.datasets.length > 1, position: "bottom" },
          tooltip: chart.money
            ? { callbacks: { label: function (item) { return item.dataset.label + ": " + money(item.raw); } } }
            : {},
        },
      },
    });
  }

  function start() {
    var source = document.getElementById("oms-dashboard-data");
    if (!source || !window.Chart) {
      return;
    }
    var charts = JSON.parse(source.textContent);
    charts.forEach(function (chart) {
      var canvas = document.querySelector('canvas[data-chart="' + chart.id + '"]');
      if (canvas) {
        canvas.chart = draw(canvas, chart);
        canvas.setAttribute("data-drawn", "true");
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
