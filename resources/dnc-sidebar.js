/*
 * The editor's "DNC" sidebar tab (the dnc-sidebar plugin, nodes/dnc-sidebar.html loads this file).
 *
 * Four panes over one DNC labels configuration (a selector when several are in the workspace):
 *   Contacts  find a contact by any identifier, its keys, active and expired labels (who, when, source,
 *             principal, reason, expiry), its history with the audit chain's verification, a decision preview
 *             (channel, labels, calling policy, instant), and a label applied or removed with a reason;
 *   Lists     each label with how many contacts carry it, its definition, recent changes, and the contacts on
 *             it: paged, filtered, exported as CSV;
 *   Import    a CSV or JSON Lines file: a dry run first, then the import, with progress and the rejected rows;
 *   Status    the store (contacts, last change, audit verification, PostgreSQL lag) and each registry (as-of
 *             date, age against its rule, numbers, last load).
 * Everything goes through the admin mount of the HTTP API with relative URLs (`dnc/...`), so it works under
 * httpAdminRoot and with adminAuth (the editor adds the user's token to its requests); changes made anywhere
 * arrive through Node-RED's comms (`dnc/changes`) and refresh what is shown. A user without `dnc.write` sees
 * everything and is told why the change buttons are disabled. No external assets.
 */
(function () {
  'use strict';
  var NS = '@dncflow/node-red-dnc/dnc-sidebar:dnc-sidebar.';
  var BUILT_IN_CHANNELS = ['voice', 'sms', 'whatsapp', 'email'];
  var PAGE = 25;

  function t(key, subs) {
    return RED._(NS + key, subs);
  }

  /** A jQuery element from a tag and options (class, text, attributes). */
  function el(tag, options) {
    var e = $('<' + tag + '>');
    options = options || {};
    if (options.cls) e.addClass(options.cls);
    if (options.text !== undefined) e.text(options.text);
    if (options.attr) e.attr(options.attr);
    return e;
  }

  function when(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }

  function create() {
    var state = {
      config: null,
      canWrite:
        !RED.user || typeof RED.user.hasPermission !== 'function' || RED.user.hasPermission('dnc.write'),
      labels: [],
      channels: BUILT_IN_CHANNELS.slice(),
      contact: null,
      list: null,
      listOffset: 0,
      pane: 'contacts',
      job: null,
      // What the person chose in the contact's forms: a refresh (after a change, or one made elsewhere)
      // redraws the profile and keeps these.
      form: { label: null, labels: [], channel: null, policy: '', at: '', result: null },
    };

    /** A request to the admin mount: resolves with the JSON answer, rejects with { status, message }. */
    function api(method, path, options) {
      options = options || {};
      var url = 'dnc/' + path;
      if (state.config)
        url += (url.indexOf('?') < 0 ? '?' : '&') + 'config=' + encodeURIComponent(state.config);
      return new Promise(function (resolve, reject) {
        var settings = {
          url: url,
          method: method,
          headers: { Accept: 'application/json' },
          success: function (data) {
            resolve(data);
          },
          error: function (xhr) {
            var body = xhr.responseJSON;
            reject({
              status: xhr.status,
              code: body && body.code,
              message: (body && body.message) || xhr.statusText || t('error.unreachable'),
            });
          },
        };
        if (options.json !== undefined) {
          settings.contentType = 'application/json';
          settings.data = JSON.stringify(options.json);
        } else if (options.body !== undefined) {
          settings.contentType = options.type;
          settings.data = options.body;
          settings.processData = false;
        }
        if (options.blob) settings.xhrFields = { responseType: 'blob' };
        $.ajax(settings);
      });
    }

    function errorText(err) {
      // Node-RED's needsPermission answers 401 to a logged-in user without the permission.
      if (err && (err.status === 403 || err.status === 401)) return t('error.forbidden');
      if (err && err.status === 404 && err.code === 'DNC_NOT_FOUND' && /config/i.test(err.message || '')) {
        return t('error.notDeployed');
      }
      return (err && err.message) || String(err);
    }

    // ---------------------------------------------------------------- layout

    var content = el('div', { cls: 'dnc-sidebar' });
    var header = el('div', { cls: 'red-ui-sidebar-header dnc-sidebar-header' }).appendTo(content);
    var configLabel = el('label', { text: t('label.config'), attr: { for: 'dnc-sidebar-config' } }).appendTo(
      header,
    );
    var configSelect = el('select', { attr: { id: 'dnc-sidebar-config' } }).appendTo(header);
    var refreshButton = el('button', {
      cls: 'red-ui-sidebar-header-button dnc-sidebar-refresh',
      attr: { type: 'button', title: t('label.refresh'), 'aria-label': t('label.refresh') },
    })
      .append(el('i', { cls: 'fa fa-refresh' }))
      .appendTo(header);
    configLabel.addClass('dnc-sidebar-config-label');

    var tabs = el('div', { cls: 'dnc-sidebar-tabs', attr: { role: 'tablist' } }).appendTo(content);
    var panes = {};
    ['contacts', 'lists', 'import', 'status'].forEach(function (name) {
      el('button', {
        cls: 'red-ui-button red-ui-button-small dnc-sidebar-tab',
        text: t('tab.' + name),
        attr: {
          type: 'button',
          role: 'tab',
          'data-pane': name,
          id: 'dnc-sidebar-tab-' + name,
          'aria-controls': 'dnc-sidebar-pane-' + name,
        },
      }).appendTo(tabs);
      panes[name] = el('div', {
        cls: 'dnc-sidebar-pane',
        attr: {
          role: 'tabpanel',
          'aria-labelledby': 'dnc-sidebar-tab-' + name,
          id: 'dnc-sidebar-pane-' + name,
        },
      }).appendTo(content);
    });
    var notice = el('div', {
      cls: 'dnc-sidebar-notice',
      attr: { role: 'status', 'aria-live': 'polite' },
    }).insertAfter(tabs);

    function say(text, kind) {
      notice
        .text(text || '')
        .toggleClass('dnc-error', kind === 'error')
        .toggle(!!text);
    }

    function showPane(name) {
      state.pane = name;
      tabs.find('.dnc-sidebar-tab').each(function () {
        var on = $(this).attr('data-pane') === name;
        // Roving tabindex (WAI-ARIA tabs): Tab reaches the selected tab only, the arrows move between them.
        $(this)
          .toggleClass('selected', on)
          .attr('aria-selected', on ? 'true' : 'false')
          .attr('tabindex', on ? '0' : '-1');
      });
      Object.keys(panes).forEach(function (p) {
        panes[p].toggle(p === name);
      });
      refresh();
    }
    tabs.on('click', '.dnc-sidebar-tab', function () {
      showPane($(this).attr('data-pane'));
    });
    tabs.on('keydown', '.dnc-sidebar-tab', function (e) {
      var all = tabs.find('.dnc-sidebar-tab');
      var at = all.index(this);
      var to = -1;
      if (e.key === 'ArrowRight' || e.key === 'ArrowDown') to = (at + 1) % all.length;
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') to = (at - 1 + all.length) % all.length;
      else if (e.key === 'Home') to = 0;
      else if (e.key === 'End') to = all.length - 1;
      if (to === -1) return;
      e.preventDefault();
      var target = all.eq(to);
      showPane(target.attr('data-pane'));
      target.trigger('focus');
    });

    // ---------------------------------------------------------------- configurations

    function configs() {
      var found = [];
      RED.nodes.eachConfig(function (n) {
        if (n.type === 'dnc-config') found.push(n);
      });
      return found;
    }

    function fillConfigs() {
      var list = configs();
      var chosen = state.config;
      configSelect.empty();
      list.forEach(function (n) {
        el('option', { text: n.name || n.id, attr: { value: n.id } }).appendTo(configSelect);
      });
      if (
        !list.some(function (n) {
          return n.id === chosen;
        })
      )
        chosen = list.length > 0 ? list[0].id : null;
      state.config = chosen;
      configSelect.val(chosen || '');
      header.toggle(list.length > 0);
      if (list.length === 0) say(t('message.noConfig'));
      // Channels declared by the configuration, beside the built-in ones.
      var config = chosen ? RED.nodes.node(chosen) : null;
      var declared = (config && Array.isArray(config.channels) ? config.channels : []).filter(function (c) {
        return typeof c === 'string' && BUILT_IN_CHANNELS.indexOf(c) < 0;
      });
      state.channels = BUILT_IN_CHANNELS.concat(declared);
    }
    configSelect.on('change', function () {
      state.config = configSelect.val();
      state.contact = null;
      state.list = null;
      refresh();
    });
    refreshButton.on('click', function () {
      refresh(true);
    });

    // ---------------------------------------------------------------- contacts

    var contactsPane = panes.contacts;
    var searchForm = el('form', { cls: 'dnc-sidebar-search', attr: { role: 'search' } }).appendTo(
      contactsPane,
    );
    var searchInput = el('input', {
      attr: {
        type: 'search',
        id: 'dnc-sidebar-search',
        placeholder: t('placeholder.search'),
        'aria-label': t('label.search'),
        autocomplete: 'off',
      },
    }).appendTo(searchForm);
    el('button', { cls: 'red-ui-button', text: t('label.find'), attr: { type: 'submit' } }).appendTo(
      searchForm,
    );
    var profile = el('div', { cls: 'dnc-sidebar-profile', attr: { 'aria-live': 'polite' } }).appendTo(
      contactsPane,
    );

    searchForm.on('submit', function (e) {
      e.preventDefault();
      var text = String(searchInput.val() || '').trim();
      if (text === '') return;
      state.contact = text;
      state.form.result = null;
      loadContact();
    });

    function loadContact() {
      var wanted = state.contact;
      if (!wanted || !state.config) {
        profile.empty();
        return Promise.resolve();
      }
      return Promise.all([
        api('GET', 'contacts/' + encodeURIComponent(wanted) + '?limit=20'),
        api('GET', 'audit/verify').catch(function () {
          return null;
        }),
      ]).then(
        function (answers) {
          if (state.contact !== wanted) return;
          renderProfile(answers[0], answers[1]);
        },
        function (err) {
          if (state.contact !== wanted) return;
          profile.empty().append(el('p', { cls: 'dnc-error', text: errorText(err) }));
        },
      );
    }

    function table(columns, rows, cls) {
      var tbl = el('table', { cls: 'dnc-sidebar-table ' + (cls || '') });
      var head = el('tr').appendTo(el('thead').appendTo(tbl));
      columns.forEach(function (c) {
        el('th', { text: c, attr: { scope: 'col' } }).appendTo(head);
      });
      var body = el('tbody').appendTo(tbl);
      rows.forEach(function (cells) {
        var tr = el('tr').appendTo(body);
        cells.forEach(function (cell) {
          var td = el('td').appendTo(tr);
          if (cell instanceof $) td.append(cell);
          else td.text(cell === null || cell === undefined ? '' : String(cell));
        });
      });
      return tbl;
    }

    function section(parent, title) {
      var box = el('section', { cls: 'dnc-sidebar-section' }).appendTo(parent);
      el('h4', { text: title }).appendTo(box);
      return box;
    }

    function renderProfile(detail, verification) {
      profile.empty();
      var keys = detail.keys || [];
      var head = section(profile, t('label.contact'));
      var keyList = el('div', { cls: 'dnc-sidebar-keys' }).appendTo(head);
      keys.forEach(function (k) {
        el('code', { text: k }).appendTo(keyList);
      });
      if (keys.length === 0) el('p', { text: t('message.unknownContact') }).appendTo(head);

      // One card per label: a sidebar is too narrow for a seven-column table.
      var labelBox = section(profile, t('label.labels'));
      var cards = el('div', { cls: 'dnc-sidebar-labels' }).appendTo(labelBox);
      function card(l, active) {
        var c = el('div', { cls: 'dnc-sidebar-card' + (active ? '' : ' dnc-sidebar-card-expired') }).appendTo(
          cards,
        );
        var title = el('div', { cls: 'dnc-sidebar-card-title' }).appendTo(c);
        el('strong', { text: l.label }).appendTo(title);
        el('span', { cls: 'dnc-sidebar-badge', text: t(active ? 'state.active' : 'state.expired') }).appendTo(
          title,
        );
        el('div', {
          text: t('message.appliedBy', {
            at: when(l.appliedAt),
            by: l.principal || t('state.unknown'),
            source: l.source,
          }),
        }).appendTo(c);
        if (l.reason) el('div', { text: t('message.because', { reason: l.reason }) }).appendTo(c);
        el('div', {
          text: l.expiresAt
            ? t(active ? 'message.expires' : 'message.expired', { at: when(l.expiresAt) })
            : t('message.neverExpires'),
        }).appendTo(c);
      }
      (detail.labels || []).forEach(function (l) {
        card(l, true);
      });
      (detail.expired || []).forEach(function (l) {
        card(l, false);
      });
      if (cards.children().length === 0) el('p', { text: t('message.noLabels') }).appendTo(labelBox);

      renderChangeForm(section(profile, t('label.change')), detail);
      renderPreview(section(profile, t('label.preview')));

      var history = section(profile, t('label.history'));
      if (verification) {
        el('p', {
          cls: verification.ok ? 'dnc-ok' : 'dnc-error',
          text: verification.ok
            ? t('message.chainOk', { records: verification.records })
            : t('message.chainBroken', { seq: verification.badSeq, problem: verification.problem || '' }),
        }).appendTo(history);
      }
      var records = detail.history || [];
      if (records.length === 0) el('p', { text: t('message.noHistory') }).appendTo(history);
      else
        table(
          [t('column.when'), t('column.change'), t('column.by')],
          records
            .slice()
            .reverse()
            .map(function (r) {
              return [
                when(r.at),
                r.op + ' ' + (r.labels || []).join(', ') + (r.reason ? ' (' + r.reason + ')' : ''),
                (r.principal || '') + (r.source ? ' · ' + r.source : ''),
              ];
            }),
          'dnc-sidebar-history',
        ).appendTo(history);
    }

    function labelSelect(id) {
      var select = el('select', { attr: { id: id } });
      state.labels.forEach(function (l) {
        el('option', { text: l.name, attr: { value: l.name } }).appendTo(select);
      });
      return select;
    }

    function renderChangeForm(box, detail) {
      var form = el('form', { cls: 'dnc-sidebar-change' }).appendTo(box);
      var row1 = el('div', { cls: 'dnc-sidebar-row' }).appendTo(form);
      el('label', { text: t('label.label'), attr: { for: 'dnc-sidebar-change-label' } }).appendTo(row1);
      var select = labelSelect('dnc-sidebar-change-label').appendTo(row1);
      if (state.form.label) select.val(state.form.label);
      select.on('change', function () {
        state.form.label = select.val();
      });
      var row2 = el('div', { cls: 'dnc-sidebar-row' }).appendTo(form);
      el('label', { text: t('label.reason'), attr: { for: 'dnc-sidebar-change-reason' } }).appendTo(row2);
      var reason = el('input', {
        attr: {
          type: 'text',
          id: 'dnc-sidebar-change-reason',
          maxlength: 500,
          placeholder: t('placeholder.reason'),
          // Checked by the form (its message is in the sidebar, not the browser's own bubble).
          'aria-required': 'true',
        },
      }).appendTo(row2);
      var buttons = el('div', { cls: 'dnc-sidebar-row dnc-sidebar-buttons' }).appendTo(form);
      var apply = el('button', {
        cls: 'red-ui-button',
        text: t('label.apply'),
        attr: { type: 'submit', id: 'dnc-sidebar-apply' },
      }).appendTo(buttons);
      var remove = el('button', {
        cls: 'red-ui-button',
        text: t('label.remove'),
        attr: { type: 'button', id: 'dnc-sidebar-remove' },
      }).appendTo(buttons);
      var result = el('p', { cls: 'dnc-sidebar-result', attr: { role: 'status' } }).appendTo(form);
      // Kept until another contact is shown: a redraw (a change made elsewhere) does not wipe it.
      if (state.form.result)
        result.toggleClass('dnc-error', state.form.result.error).text(state.form.result.text);
      if (!state.canWrite) {
        form.find('input, select, button').prop('disabled', true);
        result.text(t('message.readOnly'));
        return;
      }
      var contact = (detail.keys && detail.keys[0]) || state.contact;
      function change(kind) {
        var why = String(reason.val() || '').trim();
        if (why === '') {
          result.addClass('dnc-error').text(t('message.reasonRequired'));
          reason.trigger('focus');
          return;
        }
        form.find('button').prop('disabled', true);
        api('POST', 'labels/' + kind, {
          json: { contact: contact, labels: [select.val()], reason: why, source: 'editor' },
        }).then(
          function (outcome) {
            var done = kind === 'add' ? outcome.added || [] : outcome.removed || [];
            var text =
              done.length > 0
                ? t(kind === 'add' ? 'message.added' : 'message.removed', { label: done.join(', ') })
                : t('message.unchanged');
            result.removeClass('dnc-error').text(text);
            form.find('button').prop('disabled', false);
            // The profile is drawn again with the change: the outcome stays on show.
            state.form.result = { text: text, error: false };
            loadContact();
          },
          function (err) {
            result.addClass('dnc-error').text(errorText(err));
            form.find('button').prop('disabled', false);
          },
        );
      }
      form.on('submit', function (e) {
        e.preventDefault();
        change('add');
      });
      remove.on('click', function () {
        change('remove');
      });
      apply.attr('title', t('label.applyTip'));
    }

    function policyOptions(select) {
      el('option', { text: t('label.noPolicy'), attr: { value: '' } }).appendTo(select);
      RED.nodes.eachConfig(function (n) {
        if (n.type === 'dnc-policy')
          el('option', { text: n.name || n.preset || n.id, attr: { value: 'node:' + n.id } }).appendTo(
            select,
          );
      });
      ['us-federal', 'us-states', 'uk-ofcom', 'us-debt-collection'].forEach(function (p) {
        el('option', { text: t('label.preset', { preset: p }), attr: { value: 'preset:' + p } }).appendTo(
          select,
        );
      });
    }

    /** The policy a choice names: a preset name, or a calling policy node's definition (its JSON or preset). */
    function policyOf(choice) {
      if (!choice) return undefined;
      if (choice.indexOf('preset:') === 0) return choice.slice(7);
      var node = RED.nodes.node(choice.slice(5));
      if (!node) return undefined;
      if (node.policy && String(node.policy).trim() !== '') {
        try {
          return JSON.parse(node.policy);
        } catch {
          return undefined;
        }
      }
      return node.preset || undefined;
    }

    function renderPreview(box) {
      var form = el('form', { cls: 'dnc-sidebar-preview' }).appendTo(box);
      var row1 = el('div', { cls: 'dnc-sidebar-row' }).appendTo(form);
      el('label', { text: t('label.channel'), attr: { for: 'dnc-sidebar-preview-channel' } }).appendTo(row1);
      var channel = el('select', { attr: { id: 'dnc-sidebar-preview-channel' } }).appendTo(row1);
      state.channels.forEach(function (c) {
        el('option', { text: c, attr: { value: c } }).appendTo(channel);
      });
      if (state.form.channel) channel.val(state.form.channel);
      var rowLabels = el('div', { cls: 'dnc-sidebar-row' }).appendTo(form);
      el('label', { text: t('label.checkLabels'), attr: { for: 'dnc-sidebar-preview-labels' } }).appendTo(
        rowLabels,
      );
      var labels = labelSelect('dnc-sidebar-preview-labels')
        .attr({
          multiple: 'multiple',
          size: Math.min(4, Math.max(2, state.labels.length)),
          title: t('label.checkLabelsTip'),
        })
        .appendTo(rowLabels);
      labels.val(state.form.labels || []);
      var row2 = el('div', { cls: 'dnc-sidebar-row' }).appendTo(form);
      el('label', { text: t('label.policy'), attr: { for: 'dnc-sidebar-preview-policy' } }).appendTo(row2);
      var policy = el('select', { attr: { id: 'dnc-sidebar-preview-policy' } }).appendTo(row2);
      policyOptions(policy);
      policy.val(state.form.policy);
      var row3 = el('div', { cls: 'dnc-sidebar-row' }).appendTo(form);
      el('label', { text: t('label.at'), attr: { for: 'dnc-sidebar-preview-at' } }).appendTo(row3);
      var at = el('input', {
        attr: { type: 'datetime-local', id: 'dnc-sidebar-preview-at', title: t('label.atTip') },
      })
        .appendTo(row3)
        .val(state.form.at);
      el('button', {
        cls: 'red-ui-button',
        text: t('label.check'),
        attr: { type: 'submit', id: 'dnc-sidebar-preview-check' },
      }).appendTo(el('div', { cls: 'dnc-sidebar-row dnc-sidebar-buttons' }).appendTo(form));
      var verdict = el('div', {
        cls: 'dnc-sidebar-verdict',
        attr: { role: 'status', 'aria-live': 'polite' },
      }).appendTo(form);
      form.on('change', function () {
        state.form.labels = labels.val() || [];
        state.form.channel = channel.val();
        state.form.policy = policy.val();
        state.form.at = at.val();
      });
      form.on('submit', function (e) {
        e.preventDefault();
        var body = { contact: state.contact, channel: channel.val() };
        var chosenLabels = labels.val() || [];
        if (chosenLabels.length > 0) body.labels = chosenLabels;
        var chosen = policyOf(policy.val());
        if (policy.val() && chosen === undefined) {
          verdict.empty().append(el('p', { cls: 'dnc-error', text: t('message.policyUnreadable') }));
          return;
        }
        if (chosen !== undefined) body.policy = chosen;
        if (at.val()) body.at = new Date(String(at.val())).toISOString();
        api('POST', 'check', { json: body }).then(
          function (decision) {
            verdict.empty();
            el('p', {
              cls: decision.allowed ? 'dnc-ok dnc-verdict-allowed' : 'dnc-error dnc-verdict-blocked',
              text: decision.allowed
                ? t('message.allowed')
                : decision.nextAllowedAt
                  ? t('message.blockedUntil', { at: when(decision.nextAllowedAt) })
                  : t('message.blocked'),
            }).appendTo(verdict);
            var list = el('ul').appendTo(verdict);
            (decision.reasons || []).forEach(function (r) {
              el('li', { text: r.code + ': ' + r.message }).appendTo(list);
            });
          },
          function (err) {
            verdict.empty().append(el('p', { cls: 'dnc-error', text: errorText(err) }));
          },
        );
      });
    }

    // ---------------------------------------------------------------- lists

    var listsPane = panes.lists;
    var listsTable = el('div', { cls: 'dnc-sidebar-lists' }).appendTo(listsPane);
    var listDetail = el('div', { cls: 'dnc-sidebar-list-detail' }).appendTo(listsPane);

    function loadLists() {
      if (!state.config) return Promise.resolve();
      return api('GET', 'lists').then(
        function (answer) {
          listsTable.empty();
          var rows = answer.lists.map(function (l) {
            var open = el('button', {
              cls: 'red-ui-button red-ui-button-small dnc-sidebar-open-list',
              text: l.name,
              attr: { type: 'button', 'data-label': l.name, title: l.description || '' },
            });
            return [
              open,
              l.active,
              l.expired,
              (l.channels || []).join(', ') || (l.global ? t('label.allChannels') : ''),
            ];
          });
          table(
            [t('column.list'), t('column.active'), t('column.expired'), t('column.channels')],
            rows,
            'dnc-sidebar-lists-table',
          ).appendTo(listsTable);
          if (state.list) return loadList();
        },
        function (err) {
          listsTable.empty().append(el('p', { cls: 'dnc-error', text: errorText(err) }));
        },
      );
    }
    listsTable.on('click', '.dnc-sidebar-open-list', function () {
      state.list = $(this).attr('data-label');
      state.listOffset = 0;
      listFilter.val('');
      loadList();
    });

    var listHead = el('h4').appendTo(listDetail);
    var listDefinition = el('p', { cls: 'dnc-sidebar-definition' }).appendTo(listDetail);
    var listTools = el('form', { cls: 'dnc-sidebar-row' }).appendTo(listDetail);
    var listFilter = el('input', {
      attr: {
        type: 'search',
        id: 'dnc-sidebar-list-filter',
        placeholder: t('placeholder.filter'),
        'aria-label': t('label.filter'),
      },
    }).appendTo(listTools);
    var expiredBox = el('input', { attr: { type: 'checkbox', id: 'dnc-sidebar-list-expired' } });
    el('label', { cls: 'dnc-sidebar-inline', attr: { for: 'dnc-sidebar-list-expired' } })
      .append(expiredBox)
      .append(document.createTextNode(' ' + t('label.includeExpired')))
      .appendTo(listTools);
    var exportButton = el('button', {
      cls: 'red-ui-button red-ui-button-small',
      text: t('label.exportCsv'),
      attr: { type: 'button', id: 'dnc-sidebar-export' },
    }).appendTo(listTools);
    var listBody = el('div').appendTo(listDetail);
    var pager = el('div', { cls: 'dnc-sidebar-row dnc-sidebar-pager' }).appendTo(listDetail);
    var prevButton = el('button', {
      cls: 'red-ui-button red-ui-button-small',
      text: t('label.previous'),
      attr: { type: 'button' },
    }).appendTo(pager);
    var pageText = el('span', { attr: { 'aria-live': 'polite' } }).appendTo(pager);
    var nextButton = el('button', {
      cls: 'red-ui-button red-ui-button-small',
      text: t('label.next'),
      attr: { type: 'button' },
    }).appendTo(pager);
    var recent = el('div', { cls: 'dnc-sidebar-recent' }).appendTo(listDetail);
    listDetail.hide();

    listTools.on('submit', function (e) {
      e.preventDefault();
      state.listOffset = 0;
      loadList();
    });
    listFilter.on('search', function () {
      state.listOffset = 0;
      loadList();
    });
    expiredBox.on('change', function () {
      state.listOffset = 0;
      loadList();
    });
    prevButton.on('click', function () {
      state.listOffset = Math.max(0, state.listOffset - PAGE);
      loadList();
    });
    nextButton.on('click', function () {
      state.listOffset += PAGE;
      loadList();
    });
    exportButton.on('click', function () {
      var query =
        'export?format=csv&label=' +
        encodeURIComponent(state.list) +
        (expiredBox.prop('checked') ? '&includeExpired=true' : '');
      api('GET', query, { blob: true }).then(
        function (blob) {
          var url = URL.createObjectURL(blob);
          var a = el('a', { attr: { href: url, download: state.list + '.csv' } }).appendTo(document.body);
          a[0].click();
          a.remove();
          setTimeout(function () {
            URL.revokeObjectURL(url);
          }, 1000);
        },
        function (err) {
          say(errorText(err), 'error');
        },
      );
    });

    function loadList() {
      var label = state.list;
      if (!label) return Promise.resolve();
      var definition = state.labels.filter(function (l) {
        return l.name === label;
      })[0];
      listDetail.show();
      listHead.text(label);
      listDefinition.text(
        definition
          ? [
              definition.description || '',
              definition.global ? t('label.allChannels') : (definition.channels || []).join(', '),
              definition.expiresAfterDays
                ? t('label.expiresAfter', { days: definition.expiresAfterDays })
                : t('label.noExpiry'),
            ]
              .filter(Boolean)
              .join(' · ')
          : '',
      );
      var q = String(listFilter.val() || '').trim();
      var path =
        'lists/' +
        encodeURIComponent(label) +
        '/contacts?limit=' +
        PAGE +
        '&offset=' +
        state.listOffset +
        (q ? '&q=' + encodeURIComponent(q) : '') +
        (expiredBox.prop('checked') ? '&includeExpired=true' : '');
      return Promise.all([
        api('GET', path),
        api('GET', 'audit?label=' + encodeURIComponent(label) + '&limit=10'),
      ]).then(
        function (answers) {
          if (state.list !== label) return;
          var page = answers[0];
          listBody.empty();
          if (page.contacts.length === 0) el('p', { text: t('message.emptyList') }).appendTo(listBody);
          else
            table(
              [
                t('column.contact'),
                t('column.applied'),
                t('column.by'),
                t('column.reason'),
                t('column.expires'),
              ],
              page.contacts.map(function (c) {
                var link = el('button', {
                  cls: 'dnc-sidebar-link',
                  text: c.contact,
                  attr: { type: 'button', 'data-contact': c.contact },
                });
                return [
                  link,
                  when(c.label.appliedAt),
                  c.label.principal || '',
                  c.label.reason || '',
                  c.label.expiresAt ? when(c.label.expiresAt) : t('state.never'),
                ];
              }),
              'dnc-sidebar-list-table',
            ).appendTo(listBody);
          pageText.text(
            page.total === 0
              ? ''
              : t('message.page', {
                  from: page.offset + 1,
                  to: page.offset + page.contacts.length,
                  total: page.total,
                }),
          );
          prevButton.prop('disabled', page.offset === 0);
          nextButton.prop('disabled', page.offset + page.contacts.length >= page.total);
          recent.empty();
          el('h5', { text: t('label.recent') }).appendTo(recent);
          var records = answers[1].records || answers[1];
          if (!records || records.length === 0) el('p', { text: t('message.noHistory') }).appendTo(recent);
          else
            table(
              [t('column.when'), t('column.change'), t('column.contact'), t('column.by')],
              records
                .slice()
                .reverse()
                .map(function (r) {
                  return [when(r.at), r.op, (r.keys || [])[0] || '', r.principal || ''];
                }),
            ).appendTo(recent);
        },
        function (err) {
          listBody.empty().append(el('p', { cls: 'dnc-error', text: errorText(err) }));
        },
      );
    }
    listBody.on('click', '.dnc-sidebar-link', function () {
      state.contact = $(this).attr('data-contact');
      state.form.result = null;
      searchInput.val(state.contact);
      showPane('contacts');
    });

    // ---------------------------------------------------------------- import

    var importPane = panes.import;
    var importForm = el('form', { cls: 'dnc-sidebar-import' }).appendTo(importPane);
    el('p', { cls: 'dnc-sidebar-hint', text: t('message.importHint') }).appendTo(importForm);
    var fileInput = el('input', {
      attr: {
        type: 'file',
        id: 'dnc-sidebar-import-file',
        accept: '.csv,.jsonl,.ndjson,.json,text/csv,application/x-ndjson',
        'aria-label': t('label.file'),
      },
    }).appendTo(importForm);
    var importButtons = el('div', { cls: 'dnc-sidebar-row dnc-sidebar-buttons' }).appendTo(importForm);
    var dryRunButton = el('button', {
      cls: 'red-ui-button',
      text: t('label.dryRun'),
      attr: { type: 'button', id: 'dnc-sidebar-dry-run' },
    }).appendTo(importButtons);
    var importButton = el('button', {
      cls: 'red-ui-button',
      text: t('label.import'),
      attr: { type: 'button', id: 'dnc-sidebar-import', disabled: 'disabled' },
    }).appendTo(importButtons);
    var progress = el('progress', {
      attr: { max: 100, value: 0, id: 'dnc-sidebar-import-progress', 'aria-label': t('label.progress') },
    })
      .appendTo(importPane)
      .hide();
    var importResult = el('div', {
      cls: 'dnc-sidebar-import-result',
      attr: { role: 'status', 'aria-live': 'polite' },
    }).appendTo(importPane);
    if (!state.canWrite) {
      importForm.find('input, button').prop('disabled', true);
      importResult.text(t('message.readOnly'));
    }
    fileInput.on('change', function () {
      importButton.prop('disabled', true);
      importResult.empty();
    });

    function runImport(dryRun) {
      var file = fileInput[0].files && fileInput[0].files[0];
      if (!file) {
        importResult.empty().append(el('p', { cls: 'dnc-error', text: t('message.chooseFile') }));
        return;
      }
      var type = /\.csv$/i.test(file.name) ? 'text/csv' : 'application/x-ndjson';
      importForm.find('button').prop('disabled', true);
      progress.show().attr('value', 0);
      importResult.empty().append(el('p', { text: t(dryRun ? 'message.dryRunning' : 'message.importing') }));
      api('POST', 'imports' + (dryRun ? '?dryRun=true' : ''), { body: file, type: type }).then(
        function (job) {
          state.job = job.id;
          followJob(job.id, dryRun);
        },
        function (err) {
          progress.hide();
          importForm.find('button').prop('disabled', false);
          importButton.prop('disabled', true);
          importResult.empty().append(el('p', { cls: 'dnc-error', text: errorText(err) }));
        },
      );
    }
    dryRunButton.on('click', function () {
      runImport(true);
    });
    importButton.on('click', function () {
      runImport(false);
    });

    /** Follows a job until it ends: its progress is read about twice a second while it runs. */
    function followJob(id, dryRun) {
      api('GET', 'imports/' + encodeURIComponent(id)).then(
        function (job) {
          if (state.job !== id) return;
          // progress: 0..1, by bytes read.
          progress.attr('value', Math.round(100 * (job.progress || 0)));
          if (job.state === 'queued' || job.state === 'running') {
            setTimeout(function () {
              followJob(id, dryRun);
            }, 500);
            return;
          }
          progress.attr('value', 100);
          importForm.find('button').prop('disabled', false);
          importButton.prop('disabled', !(dryRun && job.state === 'done'));
          renderJob(job, dryRun);
        },
        function (err) {
          importForm.find('button').prop('disabled', false);
          importResult.empty().append(el('p', { cls: 'dnc-error', text: errorText(err) }));
        },
      );
    }

    function renderJob(job, dryRun) {
      importResult.empty();
      var rows = job.rows || {};
      el('p', {
        cls: job.state === 'done' ? 'dnc-ok' : 'dnc-error',
        text: t(dryRun ? 'message.dryRunDone' : 'message.importDone', {
          state: job.state,
          read: rows.read || 0,
          applied: rows.applied || 0,
          unchanged: rows.unchanged || 0,
          failed: rows.failed || 0,
        }),
      }).appendTo(importResult);
      if (job.error)
        el('p', { cls: 'dnc-error', text: job.error.message || job.error.code }).appendTo(importResult);
      var errors = job.errors || [];
      if (errors.length > 0) {
        el('h5', { text: t('label.rejected') }).appendTo(importResult);
        table(
          [t('column.line'), t('column.problem')],
          errors.map(function (e) {
            return [e.line, (e.code ? e.code + ': ' : '') + e.message];
          }),
          'dnc-sidebar-rejected',
        ).appendTo(importResult);
      }
      if (dryRun && job.state === 'done')
        el('p', { cls: 'dnc-sidebar-hint', text: t('message.nowImport') }).appendTo(importResult);
    }

    // ---------------------------------------------------------------- status

    var statusPane = panes.status;
    var storeBox = section(statusPane, t('label.store'));
    var storeBody = el('div').appendTo(storeBox);
    var registriesBox = section(statusPane, t('label.registries'));
    var registriesBody = el('div').appendTo(registriesBox);

    function ageDays(asOf) {
      if (!asOf) return null;
      return Math.floor((Date.now() - Date.parse(asOf)) / 86400000);
    }

    function loadStatus() {
      if (!state.config) return Promise.resolve();
      var health = api('GET', 'health').catch(function (err) {
        // 503 still describes the store.
        return err && err.status === 503 && err.body ? err.body : Promise.reject(err);
      });
      return Promise.all([
        health,
        api('GET', 'audit/verify').catch(function () {
          return null;
        }),
      ]).then(
        function (answers) {
          var h = answers[0];
          var v = answers[1];
          var store = h.store || {};
          storeBody.empty();
          table(
            [t('column.what'), t('column.value')],
            [
              [t('label.state'), store.state],
              [t('label.contacts'), store.contacts],
              [t('label.lastChange'), store.lastChangeAt ? when(store.lastChangeAt) : t('state.none')],
              [t('label.seq'), store.seq],
              [
                t('label.audit'),
                v
                  ? v.ok
                    ? t('message.chainOk', { records: v.records })
                    : t('message.chainBroken', { seq: v.badSeq, problem: v.problem || '' })
                  : '',
              ],
            ].concat(
              store.type === 'postgres'
                ? [
                    [
                      t('label.lag'),
                      store.lagMs === null ? t('state.none') : t('message.lagMs', { ms: store.lagMs }),
                    ],
                  ]
                : [],
            ),
            'dnc-sidebar-store',
          ).appendTo(storeBody);
          registriesBody.empty();
          var registries = h.registries || [];
          if (registries.length === 0) {
            el('p', { text: t('message.noRegistries') }).appendTo(registriesBody);
            return;
          }
          table(
            [
              t('column.registry'),
              t('column.asOf'),
              t('column.age'),
              t('column.numbers'),
              t('column.lastLoad'),
            ],
            registries.map(function (r) {
              var age = ageDays(r.asOf);
              var left = age === null || !r.maxAgeDays ? null : Math.floor(r.maxAgeDays - age);
              var ageCell = el('span', {
                cls: left !== null && left < 0 ? 'dnc-error' : '',
                text:
                  age === null
                    ? r.kind === 'service' || r.kind === 'reassigned'
                      ? t('message.perQuery', { days: r.maxAgeDays })
                      : t('state.none')
                    : left < 0
                      ? t('message.stale', { age: age, rule: r.maxAgeDays })
                      : t('message.daysLeft', { age: age, left: left }),
              });
              var last = r.refused
                ? t('message.refused', { why: r.refused })
                : r.lastError
                  ? r.lastError
                  : r.loadedAt
                    ? when(r.loadedAt)
                    : r.lastSuccessAt
                      ? when(r.lastSuccessAt)
                      : r.state;
              return [
                r.name + ' (' + r.registry + ')',
                r.asOf ? String(r.asOf).slice(0, 10) : '',
                ageCell,
                r.count !== undefined ? r.count : r.cached !== undefined ? r.cached : '',
                last,
              ];
            }),
            'dnc-sidebar-registries',
          ).appendTo(registriesBody);
        },
        function (err) {
          storeBody.empty().append(el('p', { cls: 'dnc-error', text: errorText(err) }));
          registriesBody.empty();
        },
      );
    }

    // ---------------------------------------------------------------- refresh and live changes

    function loadLabels() {
      if (!state.config) return Promise.resolve();
      return api('GET', 'labels').then(function (answer) {
        state.labels = answer.labels || [];
      });
    }

    var pending = null;
    function refresh(fromButton) {
      fillConfigs();
      if (!state.config) return;
      say('');
      loadLabels().then(
        function () {
          if (state.pane === 'contacts') return loadContact();
          if (state.pane === 'lists') return loadLists();
          if (state.pane === 'status') return loadStatus();
        },
        function (err) {
          say(errorText(err), 'error');
        },
      );
      if (fromButton) RED.notify(t('message.refreshed'), { type: 'success', timeout: 1500 });
    }

    /** Changes arrive in bursts (an import): one refresh a second at most. */
    function changed(topic, notice) {
      if (!notice || notice.config !== state.config) return;
      if (pending !== null) return;
      pending = setTimeout(function () {
        pending = null;
        if (state.pane === 'contacts' && state.contact) loadContact();
        else if (state.pane === 'lists') loadLists();
        else if (state.pane === 'status') loadStatus();
      }, 1000);
    }

    RED.comms.subscribe('dnc/changes', changed);
    RED.events.on('deploy', function () {
      refresh();
    });

    RED.sidebar.addTab({
      id: 'dnc',
      label: t('label.tab'),
      name: t('label.name'),
      iconClass: 'fa fa-ban',
      content: content,
      enableOnEdit: true,
      action: 'dnc:show-dnc-tab',
      onchange: function () {
        refresh();
      },
    });
    RED.actions.add('dnc:show-dnc-tab', function () {
      RED.sidebar.show('dnc');
    });
    showPane('contacts');
  }

  window.DncSidebar = { create: create };
})();
