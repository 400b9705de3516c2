/* The search page (/): autocomplete on the query box and live updates of the
 * results when a filter, the sort or the page changes. The page works without
 * this file; it only saves round trips of whole-page loads.
 */
(function () {
  'use strict';
  var form = document.getElementById('search-form');
  var input = document.getElementById('q');
  var list = document.getElementById('q-suggestions');
  if (!form || !input || !list || !window.fetch || !window.HindiSearch) return;

  window.HindiSearch.combobox(input, list, '', function () { location.assign(formUrl()); });

  function formUrl() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) { if (value !== '') params.append(name, value); });
    if (params.get('sort') === 'relevance') params.delete('sort');
    var query = params.toString();
    return '/' + (query ? '?' + query : '');
  }

  var loading = 0;
  var staleFilters = false;  // the filters shown are older than the results
  // how: 'push' (a new state), 'pop' (Back/Forward: the query box follows the URL)
  // or 'refresh' (the same state, filters brought up to date)
  function update(url, how) {
    var mine = ++loading;
    var focused = document.activeElement;
    var focusKey = focused && focused.name ? [focused.name, focused.value] : null;
    var results = document.getElementById('results');
    if (results) results.setAttribute('aria-busy', 'true');
    fetch(url, { headers: { Accept: 'text/html' } })
      .then(function (r) { return r.text(); })
      .then(function (text) {
        if (mine !== loading) return;
        var fresh = new DOMParser().parseFromString(text, 'text/html');
        // A date or text field being typed in keeps its half-typed value only
        // where it stands: the filters are then refreshed when it is left.
        var typing = document.activeElement;
        var keepFilters = typing && typing.closest && typing.closest('#filters') &&
          (typing.type === 'date' || typing.type === 'text' || typing.type === 'search');
        ['results', 'filters'].forEach(function (id) {
          var now = document.getElementById(id), next = fresh.getElementById(id);
          if (id === 'filters' && keepFilters) { staleFilters = true; return; }
          if (id === 'filters') staleFilters = false;
          if (now && next) now.replaceWith(document.adoptNode(next));
        });
        document.title = fresh.title;
        if (how === 'push') history.pushState({ live: true }, '', url);
        if (how === 'pop') input.value = new URLSearchParams(location.search).get('q') || '';
        var again = focusKey && Array.prototype.find.call(document.querySelectorAll('[name]'), function (node) {
          return node.name === focusKey[0] && (node.type !== 'checkbox' || node.value === focusKey[1]);
        });
        // The user may have moved on to another field while the answer came (Tab
        // from one date into the next): the focus stays where they are now. And a
        // field that has the focus is not focused again: that sends a date field's
        // caret back to its first part while its digits are being typed.
        var now = document.activeElement;
        var movedOn = now && now !== document.body && now !== focused && document.body.contains(now);
        if (movedOn || (again && again === now)) return;
        if (again) again.focus();
        else if (!document.body.contains(focused)) {  // a page or month link that was replaced
          var main = document.getElementById('results');
          if (main) main.focus();
        }
      })
      .catch(function () { location.href = url; });
  }

  // A date typed digit by digit is valid (and fires change) at every digit of
  // its year: it is applied when the field is left, or with Enter.
  var pendingDate = null;
  document.addEventListener('change', function (e) {
    var target = e.target;
    if (target === input || !target.form || target.form !== form) return;
    if (target.id === 'filter') return;  // a typed filter is applied with Enter or the button
    if (target.type === 'date' && document.activeElement === target) { pendingDate = target; return; }
    update(formUrl(), 'push');
  });
  document.addEventListener('focusout', function (e) {
    if (e.target === pendingDate) {
      pendingDate = null;
      setTimeout(function () { update(formUrl(), 'push'); }, 0);  // once the focus has moved on, to keep it there
    } else if (staleFilters && e.target.closest && e.target.closest('#filters')) {
      staleFilters = false;
      setTimeout(function () { update(location.pathname + location.search, 'refresh'); }, 0);
    }
  });
  form.addEventListener('submit', function (e) {  // the same clean URL as a live update
    e.preventDefault();
    location.assign(formUrl());
  });
  document.addEventListener('click', function (e) {
    var link = e.target.closest && e.target.closest('a[data-live]');
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    update(link.getAttribute('href'), 'push');
  });
  window.addEventListener('popstate', function () { update(location.pathname + location.search, 'pop'); });
})();
