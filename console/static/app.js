// Live countdowns to SLA deadlines ("3h 12m", "overdue 5m"); a page that
// asks for it (a remediation running) reloads itself unless someone is
// typing in it; charts too wide for a phone open at their latest day.
(function () {
  var zh = document.documentElement.lang === "zh-CN";
  var unit = zh ? {d: "天", h: "小时", m: "分", s: "秒", sep: ""} : {d: "d", h: "h", m: "m", s: "s", sep: " "};
  function fmt(ms) {
    var m = Math.floor(Math.abs(ms) / 60000), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (d > 0) return d + unit.d + unit.sep + (h % 24) + unit.h;
    if (h > 0) return h + unit.h + unit.sep + (m % 60) + unit.m;
    return m + unit.m + unit.sep + Math.floor(Math.abs(ms) / 1000) % 60 + unit.s;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown").forEach(function (el) {
      var left = Date.parse(el.getAttribute("datetime")) - now;
      el.textContent = left < 0 ? el.dataset.overdue + " " + fmt(left) : fmt(left);
      el.classList.toggle("late", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 3600000);
    });
  }
  function autoRefresh() {
    var el = document.getElementById("auto-refresh");
    if (!el) return;
    var seconds = parseInt(el.dataset.seconds, 10) || 5;
    setInterval(function () {
      var a = document.activeElement;
      if (a && (a.tagName === "INPUT" || a.tagName === "TEXTAREA" || a.tagName === "SELECT")) return;
      location.reload();
    }, seconds * 1000);
  }
  function toEnd() {
    document.querySelectorAll(".scroll.to-end").forEach(function (el) { el.scrollLeft = el.scrollWidth; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    autoRefresh();
    toEnd();
    window.addEventListener("resize", toEnd);
  });
})();
