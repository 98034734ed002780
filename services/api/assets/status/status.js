// healthmon status page: applies each public status change as it happens (Server-Sent Events), so
// a page left open on a wall screen stays current without reloading. Everything else on the page
// is rendered by the server; without this script the page is only as fresh as its last load.
"use strict";

(function () {
  // Each day of a 90-day bar says its date and grade on hover (the page itself carries only the
  // grade, to stay small at a thousand targets).
  var GRADES = { "d-e": "no failures", "d-g": "a few failures", "d-f": "some failures", "d-p": "many failures",
                 "d-b": "mostly down", "d-u": "no data" };
  document.addEventListener("mouseover", function (event) {
    var day = event.target;
    if (day.tagName !== "I" || !day.parentElement || !day.parentElement.classList.contains("bar") || day.title) {
      return;
    }
    var first = Date.parse(day.parentElement.getAttribute("data-first") + "T00:00:00Z");
    var index = Array.prototype.indexOf.call(day.parentElement.children, day);
    day.title = new Date(first + index * 86400000).toISOString().slice(0, 10) + ": " + (GRADES[day.className] || "");
  });

  var eventsUrl = document.body.getAttribute("data-events");
  if (!eventsUrl || !window.EventSource) {
    return;
  }

  function card(targetId) {
    var cards = document.querySelectorAll("[data-target]");
    for (var i = 0; i < cards.length; i++) {
      if (cards[i].getAttribute("data-target") === targetId) {
        return cards[i];
      }
    }
    return null;
  }

  function statusBadge(status) {
    var badge = document.createElement("span");
    badge.className = "status status-" + status;
    badge.textContent = status;
    return badge;
  }

  function refreshOverall() {
    var overall = document.querySelector("[data-overall]");
    if (!overall) {
      return;
    }
    var states = Array.prototype.map.call(document.querySelectorAll("[data-state]"), function (element) {
      return element.getAttribute("data-state");
    });
    if (states.indexOf("unhealthy") >= 0) {
      overall.className = "overall overall-down";
      overall.textContent = "Some systems are down";
    } else if (states.indexOf("stale") >= 0 || states.indexOf("unknown") >= 0) {
      overall.className = "overall overall-degraded";
      overall.textContent = "Some systems are not reporting";
    } else {
      overall.className = "overall overall-up";
      overall.textContent = "All systems operational";
    }
  }

  function listTransition(change) {
    var list = document.querySelector("[data-transitions]");
    if (!list) {
      return;
    }
    var item = document.createElement("li");
    var time = document.createElement("time");
    time.setAttribute("datetime", change.at);
    time.textContent = change.at.replace("T", " ").slice(0, 16) + " UTC";
    var name = document.createElement("strong");
    name.textContent = change.name;
    item.append(time, " ", name, " ", statusBadge(change.from), " \u2192 ", statusBadge(change.to));
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 20) {
      list.removeChild(list.lastChild);
    }
  }

  function apply(change) {
    var target = card(change.target_id);
    if (!target) {
      return;
    }
    target.setAttribute("data-state", change.to);
    var badge = target.querySelector("[data-status]");
    if (badge) {
      badge.className = "status status-" + change.to;
      badge.textContent = change.to;
    }
    refreshOverall();
    listTransition(change);
  }

  var source = new EventSource(eventsUrl);
  source.addEventListener("status.changed", function (event) {
    try {
      apply(JSON.parse(event.data));
    } catch (error) {
      // A malformed event changes nothing on the page.
    }
  });
})();
