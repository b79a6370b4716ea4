/**
 * The calling policy dialog (nodes/dnc-policy.html): the definition as a form (a week grid of calling
 * windows, holidays, caps and cooling-off rows) with the JSON as an advanced view, validated by the
 * runtime's own engine and tried on a test number (POST dnc-policy/check, nodes/shared/policy-routes.ts).
 *
 * The node keeps its two stored properties: `preset`, and `policy` (JSON text; blank: the preset as
 * shipped). The dialog saves `policy` only when the user edited the definition (the form, the JSON or
 * "Reset to preset"), so Done without edits changes nothing and a blank policy stays blank.
 *
 * The form edits only what it shows: a section the user did not touch is written back as it was, and
 * every field it does not show (rules cited, holiday types and regions, a cap's rule...) is kept, so
 * Form -> JSON -> Form round-trips exactly. Windows are written compactly (consecutive days with equal
 * windows as a range such as "mon-fri", seven equal days as "daily").
 *
 * Loaded by nodes/dnc-policy.html with a relative URL, like dnc-editor.js; defines window.DncPolicyForm.
 */
(function () {
  'use strict';
  if (window.DncPolicyForm) return;

  /** Monday first, as the grid shows the week. */
  var DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  var CHANNELS = ['voice', 'sms', 'whatsapp', 'email'];
  var SCOPES = ['all', 'campaign', 'channel'];
  var TRIGGERS = ['refusal', 'optout', 'conversation'];
  /** How long the dialog waits after a keystroke before asking the runtime. */
  var DELAY_MS = 300;

  function clone(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }

  /** The days (Monday-first indexes) a window key names, as lib/policy/model.ts reads it; null if unknown. */
  function daysOfKey(key) {
    var k = String(key).trim().toLowerCase();
    if (k === 'daily' || k === 'every day') return [0, 1, 2, 3, 4, 5, 6];
    if (k === 'weekdays') return [0, 1, 2, 3, 4];
    if (k === 'weekends') return [5, 6];
    var range = /^([a-z]{3})\s*-\s*([a-z]{3})$/.exec(k);
    if (range) {
      var from = DAYS.indexOf(range[1]);
      var to = DAYS.indexOf(range[2]);
      if (from === -1 || to === -1) return null;
      var out = [];
      for (var d = from; ; d = (d + 1) % 7) {
        out.push(d);
        if (d === to) break;
      }
      return out;
    }
    var single = DAYS.indexOf(k);
    return single === -1 ? null : [single];
  }

  /** `windows` as seven lists (Mon..Sun) of "HH:MM-HH:MM" texts, or null when a key cannot be read. */
  function expandWindows(windows) {
    var days = [[], [], [], [], [], [], []];
    if (windows === undefined || windows === null) return days;
    if (typeof windows !== 'object' || Array.isArray(windows)) return null;
    var keys = Object.keys(windows);
    for (var i = 0; i < keys.length; i++) {
      var list = windows[keys[i]];
      if (typeof list === 'string') list = [list];
      var which = daysOfKey(keys[i]);
      if (which === null || !Array.isArray(list)) return null;
      for (var j = 0; j < which.length; j++) {
        for (var w = 0; w < list.length; w++) {
          if (typeof list[w] !== 'string') return null;
          days[which[j]].push(list[w].trim());
        }
      }
    }
    return days;
  }

  function sameList(a, b) {
    return a.length === b.length && a.join('|') === b.join('|');
  }

  /** Seven lists back into a definition's windows: runs of equal days as ranges, all seven as "daily". */
  function compactWindows(days) {
    var out = {};
    if (
      days[0].length > 0 &&
      days.every(function (d) {
        return sameList(d, days[0]);
      })
    ) {
      out.daily = days[0].slice();
      return out;
    }
    var start = 0;
    while (start < 7) {
      var end = start;
      while (end + 1 < 7 && sameList(days[end + 1], days[start])) end++;
      if (days[start].length > 0) {
        out[start === end ? DAYS[start] : DAYS[start] + '-' + DAYS[end]] = days[start].slice();
      }
      start = end + 1;
    }
    return out;
  }

  /** A comma-separated list: trimmed, lower case, blanks dropped. */
  function splitChannels(text) {
    return String(text || '')
      .split(',')
      .map(function (s) {
        return s.trim().toLowerCase();
      })
      .filter(function (s) {
        return s !== '';
      });
  }

  /** A number typed in a field: the number, or the text itself when it is not one (the engine says why). */
  function numberOf(text) {
    var t = String(text).trim();
    return t !== '' && isFinite(Number(t)) ? Number(t) : t;
  }

  function button(icon, title, cls) {
    return $('<button type="button" class="red-ui-button red-ui-button-small"></button>')
      .addClass(cls)
      .attr('title', title)
      .append($('<i class="fa"></i>').addClass(icon));
  }

  function select(cls, values, textOf) {
    var s = $('<select></select>').addClass(cls);
    values.forEach(function (v) {
      s.append($('<option></option>').val(v).text(textOf(v)));
    });
    return s;
  }

  /**
   * The form over one definition. `t(key, subs)` translates `dnc-policy.<key>`; `changed()` is called
   * after every user edit. setDefinition() shows a definition; definition() gives it back, edited.
   */
  function Form(root, t, changed) {
    this.root = root;
    this.t = t;
    this.changed = changed;
    this.base = {};
    this.dirty = {};
    this.countries = null;
    root.on(
      'input change',
      function (e) {
        var section = $(e.target).closest('[data-section]').attr('data-section');
        if (section) {
          this.dirty[section] = true;
          this.changed();
        }
      }.bind(this),
    );
  }

  Form.prototype.setDefinition = function (definition) {
    this.base = definition && typeof definition === 'object' && !Array.isArray(definition) ? definition : {};
    this.dirty = {};
    this.render();
  };

  Form.prototype.render = function () {
    var t = this.t;
    var root = this.root.empty();
    var def = this.base;
    if (def.jurisdiction !== undefined) {
      $('<div class="form-tips dnc-tip" id="dnc-policy-jurisdiction"></div>')
        .text(t('form.jurisdiction'))
        .appendTo(root);
      return;
    }
    this.renderWeek($('<div class="dnc-policy-section" data-section="windows"></div>').appendTo(root));
    this.renderHolidays($('<div class="dnc-policy-section" data-section="holidays"></div>').appendTo(root));
    this.renderCaps($('<div class="dnc-policy-section" data-section="caps"></div>').appendTo(root));
    this.renderCooling($('<div class="dnc-policy-section" data-section="coolingOff"></div>').appendTo(root));
  };

  function heading(box, text) {
    $('<div class="dnc-policy-heading"></div>').text(text).appendTo(box);
  }

  Form.prototype.renderWeek = function (box) {
    var t = this.t;
    heading(box, t('form.windows'));
    var days = expandWindows(this.base.windows);
    if (days === null) {
      // A key the form cannot read (the engine names it): the JSON view edits it; the grid stays out.
      $('<div class="form-tips dnc-tip"></div>').text(t('form.windowsInJson')).appendTo(box);
      box.removeAttr('data-section');
      return;
    }
    var grid = $('<div class="dnc-policy-week"></div>').appendTo(box);
    DAYS.forEach(function (day, i) {
      var row = $('<div class="dnc-policy-day"></div>').attr('data-day', day).appendTo(grid);
      $('<span class="dnc-policy-dayname"></span>')
        .text(t('form.day.' + day))
        .appendTo(row);
      var slots = $('<span class="dnc-policy-slots"></span>').appendTo(row);
      days[i].forEach(function (w) {
        addSlot(slots, w, t);
      });
      button('fa-plus', t('form.addWindow'), 'dnc-policy-add-window')
        .on('click', function (e) {
          e.preventDefault();
          addSlot(slots, '09:00-17:00', t).find('input').trigger('change').trigger('focus');
        })
        .appendTo(row);
    });
  };

  function addSlot(slots, value, t) {
    var slot = $('<span class="dnc-policy-slot"></span>').appendTo(slots);
    $('<input type="text" class="dnc-policy-window" placeholder="HH:MM-HH:MM">').val(value).appendTo(slot);
    button('fa-times', t('form.remove'), 'dnc-policy-remove')
      .on('click', function (e) {
        e.preventDefault();
        var section = slots.closest('[data-section]');
        slot.remove();
        section.trigger('change');
      })
      .appendTo(slot);
    return slot;
  }

  Form.prototype.renderHolidays = function (box) {
    var t = this.t;
    heading(box, t('form.holidays'));
    var h = this.base.holidays && typeof this.base.holidays === 'object' ? this.base.holidays : {};
    var row = $('<div class="dnc-policy-line"></div>').appendTo(box);
    $('<label for="dnc-policy-holiday-country"></label>').text(t('form.country')).appendTo(row);
    var country = $('<select id="dnc-policy-holiday-country"></select>').appendTo(row);
    var stateRow = $('<div class="dnc-policy-line"></div>').appendTo(box);
    $('<label for="dnc-policy-holiday-state"></label>').text(t('form.state')).appendTo(stateRow);
    var state = $('<select id="dnc-policy-holiday-state"></select>').appendTo(stateRow);
    var current = typeof h.country === 'string' ? h.country.toUpperCase() : '';
    var currentState = typeof h.state === 'string' ? h.state : '';
    function fillCountries(list) {
      country.empty().append($('<option value=""></option>').text(t('form.noHolidays')));
      var known = false;
      list.forEach(function (c) {
        if (c.code === current) known = true;
        country.append(
          $('<option></option>')
            .val(c.code)
            .text(c.name + ' (' + c.code + ')'),
        );
      });
      if (current !== '' && !known) country.append($('<option></option>').val(current).text(current));
      country.val(current);
    }
    function fillStates(code, chosen) {
      state.empty().append($('<option value=""></option>').text(t('form.wholeCountry')));
      stateRow.toggle(code !== '');
      if (chosen) state.append($('<option></option>').val(chosen).text(chosen));
      state.val(chosen || '');
      if (code === '') return;
      $.getJSON('dnc-policy/holidays', { country: code }, function (data) {
        if (country.val() !== code) return;
        var keep = state.val();
        state.find('option:not([value=""])').remove();
        (data.states || []).forEach(function (s) {
          state.append(
            $('<option></option>')
              .val(s.code)
              .text(s.name + ' (' + s.code + ')'),
          );
        });
        if (
          keep &&
          state.find('option').filter(function () {
            return this.value === keep;
          }).length === 0
        )
          state.append($('<option></option>').val(keep).text(keep));
        state.val(keep);
        stateRow.toggle((data.states || []).length > 0 || !!keep);
      });
    }
    fillCountries(this.countries || []);
    fillStates(current, currentState);
    if (this.countries === null) {
      // The country list, loaded once per dialog (every later render reuses it).
      $.getJSON(
        'dnc-policy/holidays',
        function (data) {
          this.countries = data.countries || [];
          if (!box.closest('body').length) return;
          current = country.val();
          fillCountries(this.countries);
        }.bind(this),
      );
    }
    country.on('change', function () {
      current = country.val();
      fillStates(current, '');
    });
    var datesRow = $('<div class="dnc-policy-line dnc-policy-dates-row"></div>').appendTo(box);
    $('<label></label>').text(t('form.dates')).appendTo(datesRow);
    var dates = $('<span class="dnc-policy-dates"></span>').appendTo(datesRow);
    function addDate(value) {
      var slot = $('<span class="dnc-policy-slot"></span>').appendTo(dates);
      $('<input type="text" class="dnc-policy-date" placeholder="MM-DD">').val(value).appendTo(slot);
      button('fa-times', t('form.remove'), 'dnc-policy-remove')
        .on('click', function (e) {
          e.preventDefault();
          slot.remove();
          box.trigger('change');
        })
        .appendTo(slot);
      return slot;
    }
    (Array.isArray(h.dates) ? h.dates : []).forEach(function (d) {
      addDate(String(d));
    });
    button('fa-plus', t('form.addDate'), 'dnc-policy-add-date')
      .on('click', function (e) {
        e.preventDefault();
        addDate('').find('input').trigger('focus');
      })
      .appendTo(datesRow);
  };

  Form.prototype.renderCaps = function (box) {
    var t = this.t;
    heading(box, t('form.caps'));
    var list = $('<div class="dnc-policy-rows"></div>').appendTo(box);
    function addRow(cap) {
      var row = $('<div class="dnc-policy-row dnc-policy-cap"></div>').data('original', cap).appendTo(list);
      $('<input type="text" class="dnc-policy-limit">')
        .val(cap.limit === undefined ? '' : cap.limit)
        .appendTo(row);
      $('<span></span>').text(t('form.per')).appendTo(row);
      var hours = cap.hours !== undefined;
      $('<input type="text" class="dnc-policy-period">')
        .val(hours ? cap.hours : cap.days === undefined ? '' : cap.days)
        .appendTo(row);
      select('dnc-policy-unit', ['hours', 'days'], function (v) {
        return t('form.unit.' + v);
      })
        .val(hours ? 'hours' : 'days')
        .appendTo(row);
      select('dnc-policy-scope', SCOPES, function (v) {
        return t('form.scope.' + v);
      })
        .val(SCOPES.indexOf(cap.scope) === -1 ? 'all' : cap.scope)
        .appendTo(row);
      $('<input type="text" class="dnc-policy-channels">')
        .attr('placeholder', t('form.allChannels'))
        .val(Array.isArray(cap.channels) ? cap.channels.join(', ') : '')
        .appendTo(row);
      removeButton(row, box, t);
    }
    (Array.isArray(this.base.caps) ? this.base.caps : []).forEach(function (cap) {
      addRow(cap && typeof cap === 'object' ? cap : {});
    });
    button('fa-plus', t('form.addCap'), 'dnc-policy-add-cap')
      .append(' ')
      .append($('<span></span>').text(t('form.addCap')))
      .on('click', function (e) {
        e.preventDefault();
        addRow({ limit: 3, hours: 24 });
        box.trigger('change');
      })
      .appendTo(box);
  };

  function removeButton(row, box, t) {
    button('fa-times', t('form.remove'), 'dnc-policy-remove')
      .on('click', function (e) {
        e.preventDefault();
        row.remove();
        box.trigger('change');
      })
      .appendTo(row);
  }

  Form.prototype.renderCooling = function (box) {
    var t = this.t;
    heading(box, t('form.coolingOff'));
    var list = $('<div class="dnc-policy-rows"></div>').appendTo(box);
    function addRow(c) {
      var row = $('<div class="dnc-policy-row dnc-policy-cooling"></div>').data('original', c).appendTo(list);
      $('<input type="text" class="dnc-policy-days">')
        .val(c.days === undefined ? '' : c.days)
        .appendTo(row);
      $('<span></span>').text(t('form.daysAfter')).appendTo(row);
      select('dnc-policy-after', TRIGGERS, function (v) {
        return t('form.after.' + v);
      })
        .val(TRIGGERS.indexOf(c.after) === -1 ? 'refusal' : c.after)
        .appendTo(row);
      select('dnc-policy-scope', SCOPES, function (v) {
        return t('form.scope.' + v);
      })
        .val(SCOPES.indexOf(c.scope) === -1 ? 'all' : c.scope)
        .appendTo(row);
      removeButton(row, box, t);
    }
    (Array.isArray(this.base.coolingOff) ? this.base.coolingOff : []).forEach(function (c) {
      addRow(c && typeof c === 'object' ? c : {});
    });
    button('fa-plus', t('form.addCoolingOff'), 'dnc-policy-add-cooling')
      .append(' ')
      .append($('<span></span>').text(t('form.addCoolingOff')))
      .on('click', function (e) {
        e.preventDefault();
        addRow({ after: 'refusal', days: 30 });
        box.trigger('change');
      })
      .appendTo(box);
  };

  /** A key set, deleted, or (absent before and `undefined` now) left out; an existing key keeps its place. */
  function put(target, key, value) {
    if (value === undefined) delete target[key];
    else target[key] = value;
  }

  /** The definition as shown: the one set, with the sections the user edited read back from the form. */
  Form.prototype.definition = function () {
    var def = clone(this.base) || {};
    var root = this.root;
    if (this.dirty.windows) {
      var days = DAYS.map(function (day) {
        return root
          .find('.dnc-policy-day[data-day="' + day + '"] .dnc-policy-window')
          .map(function () {
            return String($(this).val()).trim();
          })
          .get()
          .filter(function (w) {
            return w !== '';
          });
      });
      def.windows = compactWindows(days);
    }
    if (this.dirty.holidays) {
      var h = def.holidays && typeof def.holidays === 'object' ? def.holidays : {};
      var country = String(root.find('#dnc-policy-holiday-country').val() || '');
      var state = String(root.find('#dnc-policy-holiday-state').val() || '');
      var dates = root
        .find('.dnc-policy-date')
        .map(function () {
          return String($(this).val()).trim();
        })
        .get()
        .filter(function (d) {
          return d !== '';
        });
      put(h, 'country', country === '' ? undefined : country);
      put(h, 'state', country === '' || state === '' ? undefined : state);
      put(h, 'dates', dates.length === 0 ? undefined : dates);
      put(def, 'holidays', country === '' && dates.length === 0 ? undefined : h);
    }
    if (this.dirty.caps) {
      var caps = root
        .find('.dnc-policy-cap')
        .map(function () {
          var row = $(this);
          var cap = clone(row.data('original')) || {};
          cap.limit = numberOf(row.find('.dnc-policy-limit').val());
          var unit = row.find('.dnc-policy-unit').val();
          delete cap.hours;
          delete cap.days;
          cap[unit] = numberOf(row.find('.dnc-policy-period').val());
          var scope = row.find('.dnc-policy-scope').val();
          put(cap, 'scope', scope === 'all' && cap.scope === undefined ? undefined : scope);
          var channels = splitChannels(row.find('.dnc-policy-channels').val());
          put(cap, 'channels', channels.length === 0 ? undefined : channels);
          return cap;
        })
        .get();
      put(def, 'caps', caps.length === 0 ? undefined : caps);
    }
    if (this.dirty.coolingOff) {
      var cooling = root
        .find('.dnc-policy-cooling')
        .map(function () {
          var row = $(this);
          var c = clone(row.data('original')) || {};
          c.after = row.find('.dnc-policy-after').val();
          c.days = numberOf(row.find('.dnc-policy-days').val());
          var scope = row.find('.dnc-policy-scope').val();
          put(c, 'scope', scope === 'all' && c.scope === undefined ? undefined : scope);
          return c;
        })
        .get();
      put(def, 'coolingOff', cooling.length === 0 ? undefined : cooling);
    }
    return def;
  };

  /**
   * The dialog: `node` is the dnc-policy node being edited; `editor` its JSON code editor. Returns the
   * controller oneditsave asks for the policy text to store (`text()`) and whether it was edited.
   */
  function prepare(node, editor) {
    var t = function (key, subs) {
      return node._('dnc-policy.' + key, subs);
    };
    var presets = {};
    var presetSelect = $('#node-config-input-preset');
    var formBox = $('#dnc-policy-form');
    var jsonBox = $('#dnc-policy-json');
    var problem = $('#dnc-policy-error');
    var preview = $('#dnc-policy-preview');
    var state = {
      /** The policy text to store; starts as stored. */
      text: node.policy ? String(node.policy) : '',
      edited: false,
      mode: 'form',
      /** What the code editor was last given by the dialog (a change from it is the user's). */
      shown: null,
      setting: false,
      seq: 0,
      timer: null,
    };
    var form = new Form(formBox, t, function () {
      state.text = JSON.stringify(form.definition(), null, 2);
      state.edited = true;
      showHint();
      schedule();
    });

    /** The definition in force: the stored or edited text, else the selected preset's. */
    function current() {
      if (state.text.trim() === '') return { definition: presets[presetSelect.val()] || null };
      try {
        var parsed = JSON.parse(state.text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return { definition: parsed };
        return { error: t('validation.badJson') };
      } catch (e) {
        return { error: t('validation.badJson') + ': ' + e.message };
      }
    }

    function showHint() {
      $('#dnc-policy-hint').text(t(state.text.trim() ? 'hint.edited' : 'hint.asShipped'));
      $('#dnc-policy-reset').prop('disabled', !presets[presetSelect.val()]);
    }

    function showRule() {
      var p = presets[presetSelect.val()];
      var box = $('#dnc-policy-rule').empty();
      box.parent().toggle(!!p);
      if (!p) return;
      $('<div/>')
        .text(p.rule || '')
        .appendTo(box);
      var windows = p.windows || {};
      var shown = Object.keys(windows).map(function (days) {
        return days + ' ' + (windows[days] || []).join(', ');
      });
      (p.caps || []).forEach(function (cap) {
        shown.push(cap.limit + ' / ' + (cap.hours ? cap.hours + ' h' : cap.days + ' d'));
      });
      $('<code/>', { id: 'dnc-policy-windows' }).text(shown.join(' · ')).appendTo(box);
    }

    function showProblem(text, field) {
      problem.empty().toggle(!!text);
      if (!text) return;
      $('<i class="fa fa-exclamation-triangle"></i>').appendTo(problem);
      problem.append(' ').append($('<span class="dnc-policy-error-message"></span>').text(text));
      if (field) problem.append(' ').append($('<code></code>').text(field));
    }

    function showPreview(result) {
      preview.empty().removeClass('dnc-policy-allowed dnc-policy-blocked');
      if (!result || result.allowed === undefined) return preview.hide();
      preview.show().addClass(result.allowed ? 'dnc-policy-allowed' : 'dnc-policy-blocked');
      var codes = (result.reasons || [])
        .map(function (r) {
          return r.code;
        })
        .join(', ');
      var where = result.zone ? result.localTime + ', ' + result.zone : '';
      var line;
      if (result.allowed) line = t('preview.allowed', { where: where });
      else if (result.nextAllowedLocal)
        line = t('preview.blockedUntil', { time: result.nextAllowedLocal, reasons: codes });
      else line = t('preview.blocked', { reasons: codes });
      $('<div class="dnc-policy-verdict"></div>').text(line).appendTo(preview);
      if (!result.allowed && where)
        $('<div></div>')
          .text(t('preview.now', { where: where }))
          .appendTo(preview);
      (result.reasons || []).forEach(function (r) {
        $('<div class="dnc-policy-reason"></div>')
          .text(r.code + ': ' + r.message)
          .appendTo(preview);
      });
      if (result.history && result.history.rules > 0)
        $('<div class="dnc-policy-history"></div>')
          .text(t('preview.history', { count: result.history.rules }))
          .appendTo(preview);
    }

    /** Validation and preview, one request to the runtime, the latest answer wins. */
    function check() {
      var now = current();
      if (now.error) {
        showProblem(now.error, 'policy');
        showPreview(null);
        return;
      }
      if (!now.definition) {
        showProblem('', '');
        showPreview(null);
        return;
      }
      var contact = String($('#dnc-policy-test-contact').val() || '').trim();
      var body = { policy: now.definition };
      if (contact !== '') {
        body.contact = contact;
        var channel = $('#dnc-policy-test-channel').val();
        if (channel) body.channel = channel;
      }
      var seq = ++state.seq;
      $.ajax({
        url: 'dnc-policy/check',
        method: 'POST',
        contentType: 'application/json',
        dataType: 'json',
        data: JSON.stringify(body),
      })
        .done(function (result) {
          if (seq !== state.seq) return;
          if (result.ok) {
            showProblem('', '');
            showPreview(result);
          } else {
            showProblem(result.error.message, result.error.field);
            showPreview(null);
          }
        })
        .fail(function (xhr) {
          if (seq !== state.seq) return;
          var error = xhr.responseJSON || {};
          showProblem(error.message || t('preview.failed'), error.field);
          showPreview(null);
        });
    }

    function schedule() {
      window.clearTimeout(state.timer);
      state.timer = window.setTimeout(check, DELAY_MS);
    }

    function setEditorText(text) {
      state.shown = text;
      state.setting = true;
      try {
        editor.setValue(text, -1);
      } finally {
        state.setting = false;
      }
    }

    /** Shows the definition in force in the form (unless the JSON view is open). */
    function showForm() {
      var now = current();
      form.setDefinition(now.definition || {});
    }

    function setMode(mode) {
      if (mode === state.mode) return true;
      if (mode === 'form') {
        var now = current();
        if (now.error) {
          showProblem(now.error, 'policy');
          return false;
        }
        showForm();
      } else {
        var def = current().definition;
        setEditorText(state.text.trim() !== '' ? state.text : def ? JSON.stringify(def, null, 2) : '');
      }
      state.mode = mode;
      formBox.toggle(mode === 'form');
      jsonBox.toggle(mode === 'json');
      $('#dnc-policy-mode-form').toggleClass('selected', mode === 'form');
      $('#dnc-policy-mode-json').toggleClass('selected', mode === 'json');
      if (mode === 'json') editor.resize();
      return true;
    }

    editor.getSession().on('change', function () {
      var text = editor.getValue();
      // The dialog's own setValue (possibly reported in several steps) is not an edit.
      if (state.setting || (state.shown !== null && text === state.shown)) return;
      state.shown = null;
      state.text = text.trim();
      state.edited = true;
      showHint();
      schedule();
    });

    function fillSelect(names) {
      var chosen = node.preset || '';
      presetSelect.empty();
      presetSelect.append($('<option>').val('').text(t('label.custom')));
      names.forEach(function (name) {
        var label = presets[name] && presets[name].name ? presets[name].name : name;
        presetSelect.append($('<option>').val(name).text(label));
      });
      presetSelect.val(chosen);
    }
    fillSelect(node.preset ? [node.preset] : []);
    presetSelect.on('change', function () {
      showRule();
      showHint();
      // As shipped, the form follows the preset chosen; an edited definition stays as it is.
      if (state.text.trim() === '') {
        if (state.mode === 'form') showForm();
        else
          setEditorText(
            presets[presetSelect.val()] ? JSON.stringify(presets[presetSelect.val()], null, 2) : '',
          );
      }
      schedule();
    });
    $('#dnc-policy-reset').on('click', function (e) {
      e.preventDefault();
      var p = presets[presetSelect.val()];
      if (!p) return;
      state.text = '';
      state.edited = true;
      if (state.mode === 'form') showForm();
      else setEditorText(JSON.stringify(p, null, 2));
      showHint();
      schedule();
    });
    $('#dnc-policy-mode-form').on('click', function (e) {
      e.preventDefault();
      setMode('form');
    });
    $('#dnc-policy-mode-json').on('click', function (e) {
      e.preventDefault();
      setMode('json');
    });
    $('#dnc-policy-test-contact').on('input', schedule);
    $('#dnc-policy-test-channel').on('change', schedule);

    var select = $('#dnc-policy-test-channel').empty();
    select.append($('<option value=""></option>').text(t('preview.anyChannel')));
    CHANNELS.forEach(function (c) {
      select.append($('<option></option>').val(c).text(c));
    });
    select.val('voice');

    jsonBox.hide();
    showHint();
    if (current().error) {
      // Stored text the form cannot read: open on the JSON, with the reason.
      state.mode = 'form';
      setMode('json');
      check();
    } else {
      showForm();
    }
    $.getJSON('dnc-policy/presets', function (data) {
      presets = data || {};
      fillSelect(Object.keys(presets));
      showRule();
      showHint();
      if (state.text.trim() === '' && state.mode === 'form') showForm();
      else if (state.text.trim() === '' && state.mode === 'json')
        setEditorText(
          presets[presetSelect.val()] ? JSON.stringify(presets[presetSelect.val()], null, 2) : '',
        );
      check();
    });

    return {
      /** The policy text to store: as stored when nothing was edited. */
      text: function () {
        return state.edited ? state.text.trim() : node.policy;
      },
      close: function () {
        window.clearTimeout(state.timer);
        state.seq++;
      },
    };
  }

  window.DncPolicyForm = {
    prepare: prepare,
    expandWindows: expandWindows,
    compactWindows: compactWindows,
  };
})();
