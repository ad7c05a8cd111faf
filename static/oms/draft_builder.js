/* The draft builder: offers companies, buyers and products as the rep types (the
   page's lookups, into <datalist>s), fills a picked buyer's ship-to and shipping
   method, shows each product's customization fields, adds line rows, and checks the
   draft after every change: the form is posted with "preview" and the answer (every
   problem, prices, availability per location, the promise, the warnings of
   submitting) replaces the box under the lines. Nothing is written until "Save draft". */
(function () {
  "use strict";

  var form = document.getElementById("draft-order-form");
  if (!form) {
    return;
  }
  var lookupBase = form.getAttribute("data-lookup-url");
  var live = document.getElementById("draft-live");
  var lines = document.getElementById("draft-lines");
  var totalForms = form.querySelector("input[name='lines-TOTAL_FORMS']");
  var methodTouched = false;
  var timers = {};
  var previewSeq = 0;

  function lookupUrl(kind, params) {
    var url = lookupBase.replace(/_\/$/, kind + "/");
    var query = new URLSearchParams(params);
    return url + "?" + query.toString();
  }

  function later(key, delay, fn) {
    window.clearTimeout(timers[key]);
    timers[key] = window.setTimeout(fn, delay);
  }

  function getJson(kind, params) {
    return fetch(lookupUrl(kind, params), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : { results: [] };
    });
  }

  function field(name) {
    return form.elements.namedItem(name);
  }

  /* --- offers as the rep types --- */

  var productFields = {};

  function offer(input) {
    var kind = input.getAttribute("data-lookup");
    var list = document.getElementById(input.getAttribute("list"));
    var params = { q: input.value };
    if (kind === "customer" && field("company")) {
      params.company = field("company").value;
    }
    getJson(kind, params).then(function (data) {
      list.textContent = "";
      data.results.forEach(function (item) {
        var option = document.createElement("option");
        option.value = item.value;
        option.label = item.label;
        option.textContent = item.label;
        list.appendChild(option);
        if (kind === "product") {
          productFields[item.value.toUpperCase()] = item.fields || [];
        }
      });
    });
  }

  /* --- a picked buyer's defaults --- */

  function fillBuyer(email) {
    if (!email || email.indexOf("@") < 0) {
      return;
    }
    getJson("buyer", { q: email }).then(function (data) {
      var buyer = data.results[0];
      if (!buyer) {
        return;
      }
      var company = field("company");
      if (company && !company.value && buyer.company) {
        company.value = buyer.company;
      }
      var method = field("shipping_method");
      if (method && !methodTouched && buyer.shipping_method) {
        method.value = buyer.shipping_method;
      }
      var address = buyer.address || {};
      var blank = Object.keys(address).every(function (name) {
        var input = field(name);
        return !input || !input.value.trim();
      });
      if (blank) {
        Object.keys(address).forEach(function (name) {
          var input = field(name);
          if (input) {
            input.value = address[name];
          }
        });
      }
      preview();
    });
  }

  /* --- a picked company's defaults, before its buyer is chosen --- */

  function fillCompany(account) {
    var method = field("shipping_method");
    if (!account || !method || methodTouched) {
      return;
    }
    getJson("company-defaults", { q: account }).then(function (data) {
      var company = data.results[0];
      if (company && company.shipping_method && !methodTouched) {
        method.value = company.shipping_method;
        preview();
      }
    });
  }

  /* --- a line's customization fields, from its product --- */

  function showCustomization(row, sku) {
    var cell = row.querySelector(".oms-custom");
    var prefix = row.getAttribute("data-prefix");
    var known = productFields[sku.toUpperCase()];
    var draw = function (names) {
      var values = {};
      cell.querySelectorAll(".oms-custom-field input").forEach(function (input) {
        values[input.name] = input.value;
      });
      cell.querySelectorAll(".oms-custom-field, .oms-muted").forEach(function (el) {
        el.remove();
      });
      if (!names.length) {
        var none = document.createElement("span");
        none.className = "oms-muted";
        none.textContent = "—";
        cell.appendChild(none);
        return;
      }
      names.forEach(function (name) {
        var label = document.createElement("label");
        label.className = "oms-custom-field";
        var text = name.replace(/_/g, " ");
        label.textContent = text.charAt(0).toUpperCase() + text.slice(1) + " ";
        var input = document.createElement("input");
        input.type = "text";
        input.maxLength = 200;
        input.name = prefix + "-custom-" + name;
        input.value = values[input.name] || "";
        label.appendChild(input);
        cell.appendChild(label);
      });
    };
    if (known) {
      draw(known);
      return;
    }
    getJson("product", { q: sku }).then(function (data) {
      var match = data.results.filter(function (item) {
        return item.value.toUpperCase() === sku.toUpperCase();
      })[0];
      draw(match ? match.fields : []);
    });
  }

  /* --- line rows --- */

  function addLine() {
    var template = document.getElementById("draft-line-template");
    var index = parseInt(totalForms.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    row.querySelector(".oms-line-number").textContent = String(index + 1);
    lines.appendChild(row);
    totalForms.value = String(index + 1);
    var sku = row.querySelector("input[data-lookup='product']");
    if (sku) {
      sku.focus();
    }
  }

  /* --- the live check --- */

  function preview() {
    later("preview", 500, function () {
      var data = new FormData(form);
      data.append("preview", "1");
      var seq = ++previewSeq;
      live.classList.add("oms-updating");
      fetch(window.location.href, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" }
      })
        .then(function (response) {
          return response.text();
        })
        .then(function (html) {
          if (seq === previewSeq) {
            live.innerHTML = html;
            live.classList.remove("oms-updating");
          }
        })
        .catch(function () {
          live.classList.remove("oms-updating");
        });
    });
  }

  form.addEventListener("input", function (event) {
    var target = event.target;
    var kind = target.getAttribute && target.getAttribute("data-lookup");
    if (kind) {
      later("offer-" + target.name, 200, function () {
        offer(target);
      });
    }
    // A value picked from the offers may come as an input event only.
    if (kind === "customer" && target.value.indexOf("@") > 0) {
      later("buyer", 500, function () {
        fillBuyer(target.value.trim());
      });
    }
    if (kind === "company" && target.value.trim()) {
      later("company", 500, function () {
        fillCompany(target.value.trim());
      });
    }
    if (kind === "product" && target.value.trim()) {
      later("custom-" + target.name, 500, function () {
        var row = target.closest("tr");
        if (row) {
          showCustomization(row, target.value.trim());
        }
      });
    }
    if (target.name && target.name !== "company") {
      preview();
    }
  });

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "shipping_method") {
      methodTouched = true;
    }
    if (target.name === "customer") {
      fillBuyer(target.value.trim());
    }
    if (target.name === "company") {
      fillCompany(target.value.trim());
    }
    if (target.getAttribute && target.getAttribute("data-lookup") === "product") {
      var row = target.closest("tr");
      if (row && target.value.trim()) {
        showCustomization(row, target.value.trim());
      }
    }
    preview();
  });

  document.getElementById("draft-add-line").addEventListener("click", addLine);

  if (field("customer") && field("customer").value) {
    preview();
  }
})();
