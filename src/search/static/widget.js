/* Hindi search: autocomplete combobox and the embeddable search box.
 *
 * On a site:  <div data-hindi-search data-api="https://search.example.com"></div>
 *             <script src="https://search.example.com/widget.js" defer></script>
 * Every [data-hindi-search] element becomes a search box with autocomplete
 * (/suggest) and results (/search) fetched from data-api (CORS; the site's
 * origin must be in SEARCH_CORS_ORIGINS). Without data-api, the origin this
 * script was loaded from. Text from the API is only ever inserted as text;
 * snippets are split on our <mark> tags and their entities decoded.
 * The search page (/) uses HindiSearch.combobox for its own box.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var counter = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'", '&#39;': "'" };
  function decode(text) {
    return text.replace(/&(amp|lt|gt|quot|#x27|#39);/g, function (m) { return ENTITIES[m]; });
  }

  /* Append an API snippet (escaped text with <mark>…</mark>) as text nodes and <mark> elements. */
  function appendMarked(parent, html) {
    var inMark = false;
    html.split(/(<mark>|<\/mark>)/).forEach(function (part) {
      if (part === '<mark>') { inMark = true; return; }
      if (part === '</mark>') { inMark = false; return; }
      if (!part) return;
      var text = document.createTextNode(decode(part));
      if (inMark) { var m = el('mark'); m.appendChild(text); parent.appendChild(m); } else parent.appendChild(text);
    });
  }

  function isWebUrl(url) { return /^https?:\/\//i.test(url || ''); }

  /* An ARIA combobox on `input` with listbox `list`, fed by `${api}/suggest`.
   * Arrow keys move, Enter picks, Escape closes; onPick(query) gets the chosen query. */
  function combobox(input, list, api, onPick) {
    var options = [], active = -1, timer = null, asked = 0, prefix = list.id || ('hs-list-' + (++counter));
    list.id = prefix;
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', prefix);
    input.setAttribute('aria-expanded', 'false');
    list.setAttribute('role', 'listbox');

    function close() {
      clearTimeout(timer);
      list.hidden = true;
      list.textContent = '';
      options = [];
      active = -1;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
    }
    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute('aria-selected', i === index ? 'true' : 'false');
      });
      if (index >= 0) {
        input.setAttribute('aria-activedescendant', list.children[index].id);
        list.children[index].scrollIntoView({ block: 'nearest' });
      } else input.removeAttribute('aria-activedescendant');
    }
    function pick(index) {
      var chosen = options[index];
      close();
      input.value = chosen.query;
      onPick(chosen.query);
    }
    function show(answer) {
      list.textContent = '';
      options = [];
      answer.completions.forEach(function (c) { options.push({ label: c.text, query: c.query, count: c.documents }); });
      answer.titles.forEach(function (t) {
        options.push({ label: t.title, query: '"' + t.title.replace(/"/g, ' ') + '"', title: true });
      });
      if (!options.length) { close(); return; }
      options.forEach(function (o, i) {
        var li = el('li', o.title ? 'hs-title' : 'hs-word');
        li.id = prefix + '-' + i;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        li.appendChild(el('span', 'hs-text', o.label));
        if (o.count !== undefined) li.appendChild(el('span', 'hs-count', String(o.count)));
        li.addEventListener('mousedown', function (e) { e.preventDefault(); pick(i); });
        list.appendChild(li);
      });
      active = -1;
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }
    function ask() {
      var q = input.value;
      if (!q.trim()) { close(); return; }
      var mine = ++asked;
      fetch(api + '/suggest?' + new URLSearchParams({ q: q, limit: '8' }))
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) { if (answer && mine === asked && document.activeElement === input) show(answer); })
        .catch(function () { close(); });
    }
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 120);
    });
    input.addEventListener('keydown', function (e) {
      var open = !list.hidden && options.length;
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        if (open) highlight((active + 1) % options.length); else ask();
      } else if (e.key === 'ArrowUp') {
        if (open) { e.preventDefault(); highlight(active <= 0 ? options.length - 1 : active - 1); }
      } else if (e.key === 'Enter') {
        if (open && active >= 0) { e.preventDefault(); pick(active); } else { asked++; close(); }
      } else if (e.key === 'Escape') {
        if (open) { e.preventDefault(); close(); }
      }
    });
    input.addEventListener('blur', function () { asked++; close(); });
    close();
  }

  // What the widget says, in the language data-lang asks for (Hindi unless "en").
  var LABELS = {
    hi: { search: 'खोजें', placeholder: 'हिंदी में खोजें…', results: ' परिणाम', didYouMean: ' · क्या आपका मतलब था: ',
          more: function (n) { return 'सभी ' + n + ' परिणाम देखें →'; }, unreachable: 'खोज सेवा से संपर्क नहीं हो सका।',
          close: 'बंद करें', suggestions: 'सुझाव', panel: 'खोज के परिणाम' },
    en: { search: 'Search', placeholder: 'Search in Hindi…', results: ' results', didYouMean: ' · did you mean: ',
          more: function (n) { return 'all ' + n + ' results →'; }, unreachable: 'The search service could not be reached.',
          close: 'Close', suggestions: 'Suggestions', panel: 'Search results' }
  };

  // The options a site gives as data attributes of the widget's element.
  function options(root) {
    var perPage = parseInt(root.getAttribute('data-per-page') || '5', 10);
    return {
      api: (root.getAttribute('data-api') || scriptOrigin).replace(/\/+$/, ''),
      target: root.getAttribute('data-target') || '',  // a selector: results go there, not in a panel
      perPage: String(perPage >= 1 && perPage <= 20 ? perPage : 5),
      filter: root.getAttribute('data-filter') || '',
      placeholder: root.getAttribute('data-placeholder') || '',
      labels: LABELS[root.getAttribute('data-lang') === 'en' ? 'en' : 'hi']
    };
  }

  function mount(root) {
    if (root.getAttribute('data-hindi-search-ready')) return;
    root.setAttribute('data-hindi-search-ready', '1');
    var opts = options(root), api = opts.api, say = opts.labels;
    var id = 'hs-' + (++counter);
    root.classList.add('hs-widget');
    root.setAttribute('lang', 'hi');

    var form = el('form', 'hs-form');
    form.setAttribute('role', 'search');
    var label = el('label', 'hs-label', say.search);
    label.htmlFor = id + '-q';
    var combo = el('div', 'hs-combo');
    var input = el('input', 'hs-input');
    input.type = 'search';
    input.id = id + '-q';
    input.autocomplete = 'off';
    input.placeholder = opts.placeholder || say.placeholder;
    var list = el('ul', 'hs-suggestions');
    list.id = id + '-list';
    list.setAttribute('aria-label', say.suggestions);
    var button = el('button', 'hs-button', say.search);
    button.type = 'submit';
    combo.appendChild(input);
    combo.appendChild(list);
    form.appendChild(label);
    form.appendChild(combo);
    form.appendChild(button);
    var status = el('p', 'hs-status');
    status.setAttribute('aria-live', 'polite');
    var results = el('ol', 'hs-results');
    root.textContent = '';
    root.appendChild(form);
    // The results: in the site's own element (data-target), or in a panel over the page,
    // anchored under the box, so the host page's layout never moves.
    var target = opts.target ? document.querySelector(opts.target) : null;
    var panel = el('div', target ? 'hs-widget hs-inline' : 'hs-panel');  // styled alike wherever it is
    panel.id = id + '-panel';
    panel.setAttribute('role', 'region');
    panel.setAttribute('aria-label', say.panel);
    var shut = el('button', 'hs-close', '×');
    shut.type = 'button';
    shut.setAttribute('aria-label', say.close);
    if (!target) panel.appendChild(shut);
    panel.appendChild(status);
    panel.appendChild(results);
    (target || root).appendChild(panel);
    panel.hidden = true;

    function hidePanel(refocus) {
      if (target) return;
      panel.hidden = true;
      if (refocus) input.focus();
    }
    function links() { return Array.prototype.slice.call(results.querySelectorAll('a')); }
    function search(q) {
      if (!q.trim()) return;
      status.textContent = '…';
      panel.hidden = false;
      var params = { q: q, per_page: opts.perPage };
      if (opts.filter) params.filter = opts.filter;
      fetch(api + '/search?' + new URLSearchParams(params))
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (answer) { render(q, answer); })
        .catch(function () { status.textContent = say.unreachable; results.textContent = ''; });
    }
    function render(q, answer) {
      results.textContent = '';
      panel.hidden = false;
      if (!answer.ok) { status.textContent = answer.body.message || 'error'; return; }
      var body = answer.body;
      status.textContent = body.total + say.results;
      if (body.suggestion) {
        status.appendChild(document.createTextNode(say.didYouMean));
        var fix = el('a', 'hs-fix', body.suggestion);
        fix.href = '#';
        fix.addEventListener('click', function (e) { e.preventDefault(); input.value = body.suggestion; search(body.suggestion); });
        status.appendChild(fix);
      }
      body.hits.forEach(function (hit) {
        var li = el('li', 'hs-hit');
        var title = el(isWebUrl(hit.url) ? 'a' : 'span', 'hs-hit-title');
        if (isWebUrl(hit.url)) { title.href = hit.url; title.rel = 'noopener noreferrer'; }
        appendMarked(title, hit.title_html || '');
        var meta = el('span', 'hs-meta', [hit.source, hit.published].filter(Boolean).join(' · '));
        var snippet = el('p', 'hs-snippet');
        appendMarked(snippet, hit.snippet);
        li.appendChild(title);
        li.appendChild(meta);
        li.appendChild(snippet);
        results.appendChild(li);
      });
      if (body.total > body.hits.length) {
        var more = el('a', 'hs-more', say.more(body.total));
        var page = { q: q };
        if (opts.filter) page.filter = opts.filter;
        more.href = api + '/?' + new URLSearchParams(page);
        var li = el('li', 'hs-more-row');
        li.appendChild(more);
        results.appendChild(li);
      }
    }
    // Arrows from the box (its suggestions closed) into the results and among them;
    // Escape closes the panel and goes back to the box; Enter follows a result's link.
    input.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowDown' && list.hidden && !panel.hidden && links().length) {
        e.preventDefault();
        e.stopImmediatePropagation();
        links()[0].focus();
      } else if (e.key === 'Escape' && list.hidden && !panel.hidden) {
        e.preventDefault();  // closes the panel; the words typed stay (a search box's Escape would clear them)
        hidePanel(true);
      }
    });
    panel.addEventListener('keydown', function (e) {
      var all = links(), at = all.indexOf(document.activeElement);
      if (e.key === 'ArrowDown' && at >= 0) { e.preventDefault(); all[Math.min(at + 1, all.length - 1)].focus(); }
      else if (e.key === 'ArrowUp' && at >= 0) { e.preventDefault(); if (at === 0) input.focus(); else all[at - 1].focus(); }
      else if (e.key === 'Escape') { e.preventDefault(); hidePanel(true); }
    });
    shut.addEventListener('click', function () { hidePanel(true); });
    document.addEventListener('click', function (e) { if (!root.contains(e.target)) hidePanel(false); });
    combobox(input, list, api, search);
    form.addEventListener('submit', function (e) { e.preventDefault(); search(input.value); });

    if (!document.querySelector('link[data-hindi-search-css]')) {
      var css = document.createElement('link');
      css.rel = 'stylesheet';
      css.href = api + '/static/widget.css';
      css.setAttribute('data-hindi-search-css', '');
      document.head.appendChild(css);
    }
  }

  function mountAll() { Array.prototype.forEach.call(document.querySelectorAll('[data-hindi-search]'), mount); }

  window.HindiSearch = { combobox: combobox, mount: mount };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mountAll); else mountAll();
})();
