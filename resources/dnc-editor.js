/**
 * The editor helpers every DNC node's dialog uses (nodes/*.html): field validators, the typedInput
 * types, the known-labels hint, the registry list, the label-change fields of add and remove.
 *
 * Node-RED serves this package's resources/ folder to the editor, and each node's html loads this file
 * with a relative URL (so it works behind httpAdminRoot) before its own scripts run. Ten html files
 * include it, so it may run ten times: the first run defines window.DncEditor and adds the stylesheet,
 * the others stop at once. Only helpers live here: each RED.nodes.registerType stays inline in its html
 * (the Flow Library scorecard reads the definitions from there).
 *
 * The patterns mirror lib/labels.ts and lib/values.ts; test/editor-rules.test.ts holds them to those.
 */
(function () {
  'use strict';
  if (window.DncEditor) return;

  var MODULE = '@dncflow/node-red-dnc';
  /** The catalog of the strings several dialogs share: nodes/locales/<lang>/dnc-config.json. */
  var CATALOG = MODULE + '/dnc-config:';

  /** The built-in channels (lib/labels.ts KNOWN_CHANNELS). */
  var CHANNELS = ['voice', 'sms', 'whatsapp', 'email'];
  var PATTERNS = {
    /** lib/labels.ts LABEL_NAME_PATTERN */
    labelName: /^[A-Za-z0-9_-]{1,64}$/,
    /** lib/labels.ts CHANNEL_PATTERN (after trim and lower case) */
    channel: /^[a-z0-9][a-z0-9_-]{0,31}$/,
    /** lib/values.ts RULES.source, when not blank */
    source: /^[A-Za-z0-9_.:-]{1,32}$/,
    /** an ISO 3166 alpha-2 code, as the DNC labels node reads its default country */
    country: /^[A-Za-z]{2}$/,
  };
  /** lib/labels.ts: a label expires after 1 to 36500 days, or never. */
  var MAX_EXPIRY_DAYS = 36500;
  /** Where a node may read a contact, a text, a reason or an actor from. */
  var TYPED_INPUT_TYPES = ['msg', 'flow', 'global', 'env', 'jsonata', 'str'];

  /** A shared string: `common.*` or `dnc-config.*` of the DNC labels node's catalog. */
  function text(key, subs) {
    return RED._(CATALOG + key, subs);
  }

  /** A validation message for `node`, or the bare key when called without a node (no translation). */
  function problemText(node, key, subs) {
    return node && node._ ? text('dnc-config.validation.' + key, subs) : key;
  }

  /** A comma-separated list as typed: trimmed items, blanks dropped. */
  function splitList(value) {
    return String(value || '')
      .split(',')
      .map(function (s) {
        return s.trim();
      })
      .filter(Boolean);
  }

  /** The label names a DNC labels node defines. */
  function labelNames(config) {
    return ((config && config.labels) || []).map(function (l) {
      return l.name;
    });
  }

  /** The names the DNC labels node `configId` does not define; null when no such node is selected. */
  function unknownLabels(configId, names) {
    var config = configId ? RED.nodes.node(configId) : null;
    if (!config) return null;
    var defined = labelNames(config);
    return names.filter(function (n) {
      return defined.indexOf(n) === -1;
    });
  }

  /** The first problem with a list of label names (syntax, then definition), as text, or null. */
  function labelListProblem(configId, names) {
    if (!Array.isArray(names)) return null;
    var bad = names.filter(function (n) {
      return !PATTERNS.labelName.test(n);
    });
    if (bad.length) return text('common.validation.badLabelNames', { names: bad.join(', ') });
    var unknown = unknownLabels(configId, names);
    return unknown && unknown.length
      ? text('common.validation.unknownLabels', { names: unknown.join(', ') })
      : null;
  }

  /** The declared custom channels of a config node (a list, or text as typed), normalised. */
  function customChannels(value) {
    var list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
    var out = [];
    list.forEach(function (c) {
      c = String(c).trim().toLowerCase();
      if (c && out.indexOf(c) === -1) out.push(c);
    });
    return out;
  }

  /** Every channel a node using this config may name: built in and declared. Mirrors lib/labels.ts. */
  function knownChannels(configNode) {
    var known = CHANNELS.slice();
    customChannels(configNode ? configNode.channels : []).forEach(function (c) {
      if (known.indexOf(c) === -1) known.push(c);
    });
    return known;
  }

  /**
   * For nodes that name a channel: null when the channel is blank, built in or declared in the selected
   * config node (looked up by id); otherwise the problem, as text.
   */
  function channelProblem(channel, configId, node) {
    var name = typeof channel === 'string' ? channel.trim().toLowerCase() : '';
    if (name === '') return null;
    if (!PATTERNS.channel.test(name)) return problemText(node, 'badChannelName', { channel: channel });
    var known = knownChannels(configId ? RED.nodes.node(configId) : null);
    if (known.indexOf(name) !== -1) return null;
    return problemText(node, 'unknownChannel', { channel: name, known: known.join(', ') });
  }

  /** The first malformed name in a config node's custom channel list (as text), or null. */
  function customChannelProblem(channels, node) {
    if (channels === undefined || channels === null || channels === '') return null;
    if (!Array.isArray(channels) && typeof channels !== 'string') return 'channels';
    var list = customChannels(channels);
    for (var i = 0; i < list.length; i++) {
      if (!PATTERNS.channel.test(list[i])) {
        return node && node._ ? problemText(node, 'badChannelName', { channel: list[i] }) : list[i];
      }
    }
    return null;
  }

  /** The first problem in a list of label definitions (as text), or null. Mirrors lib/labels.ts. */
  function labelDefinitionProblem(labels, node) {
    if (!Array.isArray(labels)) return problemText(node, 'badName', { name: String(labels) });
    var seen = {};
    for (var i = 0; i < labels.length; i++) {
      var l = labels[i] || {};
      var name = typeof l.name === 'string' ? l.name : '';
      if (name === '') return problemText(node, 'noName', { index: i + 1 });
      if (!PATTERNS.labelName.test(name)) return problemText(node, 'badName', { name: name });
      var folded = name.toLowerCase();
      if (seen[folded]) return problemText(node, 'duplicate', { name: name });
      seen[folded] = true;
      var channels = Array.isArray(l.channels) ? l.channels : [];
      var known = knownChannels(node);
      for (var c = 0; c < channels.length; c++) {
        var channel = String(channels[c]).trim().toLowerCase();
        if (!PATTERNS.channel.test(channel)) {
          return problemText(node, 'badChannel', { name: name, channel: channels[c] });
        }
        if (known.indexOf(channel) === -1) {
          return problemText(node, 'undeclaredChannel', { name: name, channel: channel });
        }
      }
      var days = l.expiresAfterDays;
      if (days !== null && days !== undefined && days !== '' && days !== 0) {
        var n = Number(days);
        if (!isFinite(n) || n <= 0 || n > MAX_EXPIRY_DAYS)
          return problemText(node, 'badExpiry', { name: name });
      }
    }
    return null;
  }

  /** A defaults validate result: true without a problem, else the problem (opt) or false. */
  function verdict(problem, opt) {
    if (!problem) return true;
    return opt ? problem : false;
  }

  window.DncEditor = {
    CHANNELS: CHANNELS,
    PATTERNS: PATTERNS,
    MAX_EXPIRY_DAYS: MAX_EXPIRY_DAYS,
    TYPED_INPUT_TYPES: TYPED_INPUT_TYPES,
    text: text,
    splitList: splitList,
    labelNames: labelNames,
    labelListProblem: labelListProblem,
    customChannels: customChannels,
    knownChannels: knownChannels,
    channelProblem: channelProblem,
    customChannelProblem: customChannelProblem,
    labelDefinitionProblem: labelDefinitionProblem,

    /**
     * Validators for a node's defaults (`validate: DncEditor.validate.channel`): Node-RED calls them on
     * the node, with the value and, when it wants the problem as text, an options object.
     */
    validate: {
      /** `labels`: every name is defined by the node's DNC labels node (not checked without one). */
      knownLabels: function (names, opt) {
        if (!Array.isArray(names)) return true;
        var unknown = unknownLabels(this.config, names);
        if (!unknown || unknown.length === 0) return true;
        return opt ? text('common.validation.unknownLabels', { names: unknown.join(', ') }) : false;
      },
      /** A list of label names: their syntax, then (with a DNC labels node) their definition. */
      labelNames: function (names, opt) {
        return verdict(labelListProblem(this.config, names), opt);
      },
      /** `channel`: blank (msg.channel), built in, or declared in the node's DNC labels node. */
      channel: function (channel, opt) {
        return verdict(channelProblem(channel, this.config, this), opt);
      },
      /** `source`: blank (msg.source) or a short name. */
      source: function (source, opt) {
        if (!source || PATTERNS.source.test(source)) return true;
        return opt ? text('common.validation.badSource') : false;
      },
      /** `defaultCountry`: blank or a two-letter code. */
      country: function (country, opt) {
        if (!country || PATTERNS.country.test(country)) return true;
        return opt ? text('dnc-config.validation.badCountry') : false;
      },
      /** A DNC labels node's `labels`: the label definitions. */
      labelDefinitions: function (labels, opt) {
        return verdict(labelDefinitionProblem(labels, this), opt);
      },
      /** A DNC labels node's `channels`: the declared custom channels. */
      customChannels: function (channels, opt) {
        return verdict(customChannelProblem(channels, this), opt);
      },
    },

    // Dialog helpers: call them from oneditprepare / oneditsave.

    /**
     * First thing in oneditprepare: a property the node lacks (saved before it existed) takes its
     * default, the value the runtime applies, and its field shows it. Node-RED loads deployed flows
     * without filling defaults and marks a node changed when Done finds a field differing from the node,
     * so without this an older node showed a blank select and was changed by Done without an edit. A
     * node that already has the property keeps it; config node pickers and lists are left to the editor
     * and to the dialog's own code, which start from the filled value.
     */
    fillDefaults: function (node) {
      var defaults = (node._def && node._def.defaults) || {};
      var prefix = node._def && node._def.category === 'config' ? '#node-config-input-' : '#node-input-';
      Object.keys(defaults).forEach(function (property) {
        if (node[property] !== undefined || defaults[property].value === undefined) return;
        var value = JSON.parse(JSON.stringify(defaults[property].value));
        node[property] = value;
        if (defaults[property].type || typeof value === 'object') return;
        var input = $(prefix + property);
        if (input.attr('type') === 'checkbox') input.prop('checked', !!value);
        else if (input.length) input.val(value);
      });
    },

    /** Makes #node-input-<field> a typedInput over the usual types, its type in #node-input-<field>Type. */
    typedInput: function (field, defaultType) {
      $('#node-input-' + field).typedInput({
        default: defaultType,
        types: TYPED_INPUT_TYPES,
        typeField: '#node-input-' + field + 'Type',
      });
    },
    /** Shows a list property in its text field #node-input-<property>-text, comma separated. */
    showList: function (node, property) {
      $('#node-input-' + property + '-text').val((node[property] || []).join(', '));
    },
    /** Reads a list property back from #node-input-<property>-text. */
    readList: function (property) {
      return splitList($('#node-input-' + property + '-text').val());
    },
    /**
     * Keeps `target` telling the labels the DNC labels node picked in #node-input-config defines, now
     * and when the pick changes. options: none (text without a pick), global (mark global labels and
     * say they always apply), then (called after each update with the picked config node).
     */
    showKnownLabels: function (target, options) {
      options = options || {};
      function show() {
        var config = RED.nodes.node($('#node-input-config').val());
        if (!config) {
          $(target).text(options.none || text('common.hint.noConfig'));
        } else {
          var names = (config.labels || []).map(function (l) {
            return l.name + (options.global && l.global ? ' (global)' : '');
          });
          var shown = text('common.hint.known') + ' ' + names.join(', ');
          $(target).text(options.global ? shown + '. ' + text('common.hint.global') : shown);
        }
        if (options.then) options.then(config);
      }
      $('#node-input-config').on('change', show);
      show();
    },
    /**
     * Keeps the datalist `list` (the suggestions of a channel field) offering the channels a node may
     * name: built in, and declared in the DNC labels node picked in #node-input-config.
     */
    suggestChannels: function (list) {
      function fill() {
        var box = $(list).empty();
        knownChannels(RED.nodes.node($('#node-input-config').val())).forEach(function (c) {
          $('<option/>').val(c).appendTo(box);
        });
      }
      $('#node-input-config').on('change', fill);
      fill();
    },
    /** On save: normalises #node-input-channel (the editor reads it into node.channel after oneditsave). */
    saveChannel: function (node) {
      var channel = $('#node-input-channel').val().trim().toLowerCase();
      $('#node-input-channel').val(channel);
      node.channel = channel;
    },
    /** The fields add and remove share: contact, reason, actor, the labels and the defined labels. */
    prepareLabelChange: function (node) {
      DncEditor.typedInput('contact', 'msg');
      DncEditor.typedInput('reason', 'str');
      DncEditor.typedInput('actor', 'str');
      DncEditor.showList(node, 'labels');
      DncEditor.showKnownLabels('#' + node.type + '-known');
    },
    /** A registry config node's name as lists show it. */
    registryName: function (id) {
      var config = RED.nodes.node(id);
      return config ? config.name || config.registry : id;
    },
    /**
     * A list of config node ids (`ids`, edited in place) shown in `list` (rows with a remove button),
     * added with the `add` button from the config picker `picker`; `nameOf` names a row. `tip` is the
     * button's tooltip: it sits beside the picker's own "+" (add a new config node), and says how it differs.
     */
    prepareIdList: function (ids, list, add, picker, nameOf, tip) {
      function draw() {
        var box = $(list).empty();
        ids.forEach(function (id, i) {
          var row = $('<div/>', { class: 'dnc-registry-row' }).appendTo(box);
          $('<span/>').text(nameOf(id)).appendTo(row);
          $('<a href="#" class="red-ui-button red-ui-button-small"><i class="fa fa-times"></i></a>')
            .on('click', function (e) {
              e.preventDefault();
              ids.splice(i, 1);
              draw();
            })
            .appendTo(row);
        });
        box.data('ids', ids);
      }
      if (tip) {
        RED.popover.tooltip($(add), tip);
        $(add).attr('aria-label', tip);
      }
      $(add).on('click', function (e) {
        e.preventDefault();
        var id = $(picker).val();
        if (id && id !== '_ADD_' && ids.indexOf(id) === -1) ids.push(id);
        draw();
      });
      draw();
    },
    /**
     * The registries a node consults: the ids in `list` (a box of rows with a remove button), added with
     * the `add` button from the #node-input-registry picker.
     */
    prepareRegistries: function (node, list, add, tip) {
      // The runtime consults the registry picked when none is listed (nodes/shared/registry.ts
      // registryIds): list it, as readRegistries saves it, so that Done without an edit changes nothing.
      if ((node.registries || []).length === 0 && node.registry) node.registries = [node.registry];
      DncEditor.prepareIdList(
        (node.registries || []).slice(),
        list,
        add,
        '#node-input-registry',
        DncEditor.registryName,
        tip,
      );
    },
    /** On save: the registries listed, or the one picked when none is. */
    readRegistries: function (list) {
      var ids = ($(list).data('ids') || []).slice();
      var picked = $('#node-input-registry').val();
      if (ids.length === 0 && picked && picked !== '_ADD_') ids.push(picked);
      return ids;
    },
    /** A calling policy config node's name, for lists. */
    policyName: function (id) {
      var config = RED.nodes.node(id);
      return config ? config.name || config.preset || id : id;
    },
    /**
     * Check DNC's further policies (after the first, `policy`): the ids in `list`, added from the
     * #node-input-policyPick picker; on save, one picked but not added is added.
     */
    preparePolicies: function (node, list, add, tip) {
      DncEditor.prepareIdList(
        (node.policies || []).slice(),
        list,
        add,
        '#node-input-policyPick',
        DncEditor.policyName,
        tip,
      );
    },
    readPolicies: function (list) {
      var ids = ($(list).data('ids') || []).slice();
      var picked = $('#node-input-policyPick').val();
      if (picked && picked !== '_ADD_' && ids.indexOf(picked) === -1) ids.push(picked);
      return ids;
    },
    /** oneditresize for a dialog whose editableList `list` (in a row of class `rowClass`) takes the rest. */
    fitList: function (size, list, rowClass, min) {
      var rows = $('#dialog-form>div:not(.' + rowClass + ')');
      var height = size.height;
      for (var i = 0; i < rows.length; i++) height -= $(rows[i]).outerHeight(true);
      $(list).editableList('height', Math.max(min, height - 30));
    },
  };
  var DncEditor = window.DncEditor;

  var style = document.createElement('link');
  style.rel = 'stylesheet';
  style.href = ((RED.settings && RED.settings.apiRootUrl) || '') + 'resources/' + MODULE + '/dnc-editor.css';
  document.head.appendChild(style);
})();
