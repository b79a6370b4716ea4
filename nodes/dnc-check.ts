/**
 * `dnc-check` ("check DNC"): output 1 allowed, output 2 blocked, `msg.dnc` = the Decision (merged into an
 * existing msg.dnc by the rule of shared/result.ts).
 * A list of contacts goes through checkMany: output 1 gets the allowed items, output 2 the blocked
 * items with their decisions, both with `msg.dnc.summary`. A contact that cannot be parsed or a store
 * that cannot answer is a blocked decision (fail closed), not an error; bad options are errors.
 *
 * The per-message path is synchronous unless the contact is a JSONata expression: the plan (labels,
 * channel) is compiled at deploy, the contact is read straight from the msg, status updates are coalesced.
 *
 * A calling policy (a `dnc-policy` config node) adds windows, holidays, caps and cooling-off to the
 * check; with "record attempt", an allowed contact is recorded as an attempt (durably) before it is sent
 * on, so that frequency caps count it; a failed recording is an error (DNC_STORE_ERROR), never a send.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from 'node-red';
import type { BatchDecision, BlockedItem, CheckOptions, CheckPlan, Decision } from '../lib/decision';
import { AttemptRefused } from '../lib/attempt-recorder';
import { BatchTally, rndRecordsOf } from '../lib/batch-summary';
import type { AttemptRndRecord } from '../lib/store/types';
import { checkInstantOf } from '../lib/time';
import { linkConfig } from './shared/config';
import { type CodedError } from './shared/errors';
import { handleInput, type Send, setupFailed, startNode } from './shared/lifecycle';
import { blank, prepareContact, type PreparedProperty } from './shared/inputs';
import { labelNames } from './shared/label-change';
import { linkPolicy } from './shared/policy-link';
import { linkRegistries, registriesStatus, registryIds } from './shared/registry';
import { keysOf, ownedFields, putResult } from './shared/result';
import { STATUS } from './shared/status';

interface DncCheckDef extends NodeDef {
  config?: string;
  labels?: unknown;
  channel?: string;
  contact?: string;
  contactType?: string;
  /** A dnc-policy config node id, or blank for none. */
  policy?: string;
  /** More dnc-policy config node ids: every one (and `policy`, first) must allow. */
  policies?: unknown;
  /** The campaign or subject (caps and cooling-off); blank: msg.campaign. */
  campaign?: string;
  /** Record an attempt for each allowed contact. */
  recordAttempt?: boolean;
  /** dnc-registry config node ids to consult (the editor's picker: `registry`). */
  registries?: unknown;
  registry?: string;
  /** When a registry cannot answer: block (default) or allow. */
  registryFailure?: string;
  /** India NCPR category of the campaign (1-8); blank: msg.ncprCategory. */
  ncprCategory?: string | number;
}

/** The editor's list of further policies: config node ids; anything else (an old flow) is none. */
function policyIdsOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((id): id is string => typeof id === 'string' && id !== '' && id !== '_ADD_');
}

/** Plans for channels read from msg.channel, kept per channel name (bounded). */
const MAX_CACHED_PLANS = 64;

/** Status text keys of the policy reason codes (blue dot: a decision, not an error). */
const POLICY_STATUS: Record<string, string> = {
  OUTSIDE_CALLING_HOURS: 'status.blockedHours',
  HOLIDAY: 'status.blockedHoliday',
  FREQUENCY_CAP: 'status.blockedCap',
  COOLING_OFF: 'status.blockedCooling',
  TIMEZONE_UNKNOWN: 'status.blockedZone',
};

/** The fields of msg.dnc Check DNC owns: a Decision's, and a list's summary (shared/result.ts). */
/**
 * The decision with reasons the flow may change. A policy's reasons are frozen and shared between
 * decisions (the library's hot path), and a message is the flow's to edit: a Function node pushing a
 * reason, a Change node, or a debug or Change node's JSONata `reasons[]` (which marks the array it reads)
 * would throw on a frozen array, and editing a shared one would change other decisions. Node-RED copies a
 * message only when it sends it to a second place, so the copy is made here, for the reasons that need it.
 */
function ownReasons(decision: Decision): Decision {
  const reasons = decision.reasons;
  if (!Object.isFrozen(reasons) && !reasons.some((reason) => Object.isFrozen(reason))) return decision;
  return {
    ...decision,
    reasons: reasons.map((reason) =>
      reason.zones === undefined ? { ...reason } : { ...reason, zones: [...reason.zones] },
    ),
  };
}

/** The blocked items of a list, each with reasons the flow may change (see ownReasons). */
function ownBlocked(blocked: readonly BlockedItem[]): BlockedItem[] {
  return blocked.map((entry) => {
    const decision = ownReasons(entry.decision);
    return decision === entry.decision ? entry : { item: entry.item, decision };
  });
}

const OWNED = ownedFields(
  keysOf<Decision>({
    allowed: true,
    contact: true,
    keys: true,
    channel: true,
    labels: true,
    matched: true,
    reasons: true,
    checkedAt: true,
    nextAllowedAt: true,
    registries: true,
  }),
  ['summary'],
);

export = function (RED: NodeAPI) {
  function DncCheck(this: Node, def: DncCheckDef) {
    const { node, t, status } = startNode(RED, this, def, 'dnc-check');
    const link = linkConfig(RED, node, def.config, status);
    const service = link.service;
    const nodeLabels = labelNames(def.labels);
    const nodeChannel = typeof def.channel === 'string' ? def.channel.trim() : '';
    let setupError: CodedError | null = link.failure;
    // `policy` (the first, as saved before the list existed) and the list after it; a missing or
    // invalid one fails every check of the node closed.
    const policyLinks = [def.policy, ...policyIdsOf(def.policies)]
      .map((id) => linkPolicy(RED, id))
      .filter((binding) => binding !== null);
    const policyFailure = policyLinks.find((binding) => binding.error !== null)?.error ?? null;
    const linkedPolicies = policyLinks.flatMap((binding) =>
      binding.policy === null ? [] : [binding.policy],
    );
    const policy = linkedPolicies[0];
    const policies = linkedPolicies.length > 1 ? linkedPolicies.slice(1) : undefined;
    if (setupError === null && policyFailure !== null) {
      setupError = policyFailure;
      status.error(setupError.code);
    }
    const nodeCampaign = typeof def.campaign === 'string' ? def.campaign.trim() : '';
    const recordAttempts = def.recordAttempt === true;
    const registryLinks = linkRegistries(RED, registryIds(def.registries, def.registry), (bindings) => {
      status.show(registriesStatus(bindings, t) ?? STATUS.ok(t('runtime.status.ready')), true);
    });
    if (setupError === null && registryLinks.failure !== null) {
      setupError = registryLinks.failure;
      status.error(setupError.code);
    }
    const registries = registryLinks.sources.length > 0 ? registryLinks.sources : null;
    const registryFailure = def.registryFailure === 'allow' ? 'allow' : 'block';
    const nodeNcpr =
      def.ncprCategory === undefined || def.ncprCategory === null ? '' : String(def.ncprCategory).trim();
    let contactProp: PreparedProperty | null = null;
    /** The plan for the node's labels (or every label) and the node's channel (or none given). */
    let basePlan: CheckPlan | null = null;
    const plansByChannel = new Map<string, CheckPlan>();

    const allowedStatus = STATUS.ok(t('status.allowed'));
    const blockedStatuses = new Map<string, NodeStatus>();

    if (setupError === null && service !== null) {
      try {
        contactProp = prepareContact(RED, node, def);
        // A channel neither built in nor declared is a configuration error here; from msg.channel it
        // is a blocked decision (UNKNOWN_CHANNEL).
        if (nodeChannel !== '') service.catalog.channelOf(nodeChannel, 'channel');
        basePlan = service.plan({
          ...basePlanOptions(),
          channel: nodeChannel === '' ? null : nodeChannel,
        });
        const shown = registriesStatus(registryLinks.bindings, t);
        if (shown !== null) status.show(shown, true);
      } catch (err) {
        setupError = setupFailed(node, status, err);
      }
    }

    function optionsFor(msg: NodeMessage): CheckOptions {
      const channel = nodeChannel !== '' ? nodeChannel : blank(msg.channel) ? null : (msg.channel as string);
      const labels = nodeLabels.length > 0 || blank(msg.labels) ? nodeLabels : (msg.labels as string[]);
      const campaign =
        nodeCampaign !== '' ? nodeCampaign : blank(msg.campaign) ? null : (msg.campaign as string);
      const ncprCategory =
        nodeNcpr !== '' ? nodeNcpr : blank(msg.ncprCategory) ? null : (msg.ncprCategory as string);
      return {
        labels,
        channel,
        policy,
        policies,
        campaign,
        registries,
        registryFailure,
        ncprCategory,
        recordAttempt: recordAttempts,
      };
    }

    function planFor(msg: NodeMessage): CheckPlan {
      const plan = planForChannel(msg);
      if (nodeNcpr === '' && !blank(msg.ncprCategory)) return service!.plan(optionsFor(msg));
      // A campaign from the message matters only to a policy (caps and cooling-off per campaign).
      if (policy === undefined || nodeCampaign !== '' || blank(msg.campaign)) return plan;
      return service!.plan(optionsFor(msg));
    }

    function planForChannel(msg: NodeMessage): CheckPlan {
      if (nodeLabels.length === 0 && !blank(msg.labels)) return service!.plan(optionsFor(msg));
      if (nodeChannel !== '' || blank(msg.channel)) return basePlan!;
      const channel = msg.channel;
      if (typeof channel === 'string') {
        const cached = plansByChannel.get(channel);
        if (cached !== undefined) return cached;
        const plan = service!.plan({ ...basePlanOptions(), channel });
        if (plansByChannel.size < MAX_CACHED_PLANS) plansByChannel.set(channel, plan);
        return plan;
      }
      return service!.plan({ ...basePlanOptions(), channel: channel as string });
    }

    function basePlanOptions(): CheckOptions {
      return {
        labels: nodeLabels,
        policy,
        policies,
        campaign: nodeCampaign === '' ? null : nodeCampaign,
        registries,
        registryFailure,
        ncprCategory: nodeNcpr === '' ? null : nodeNcpr,
        recordAttempt: recordAttempts,
      };
    }

    /**
     * Records an attempt for each allowed contact; resolves once durable, with the refusal of each
     * attempt the store would not record (null for those it did): on a store shared by several instances,
     * another instance may have taken a cap's last attempt between this check and its recording.
     */
    function record(
      contacts: readonly unknown[],
      plan: CheckPlan,
      at: number | undefined,
      rnd?: readonly (readonly AttemptRndRecord[] | undefined)[],
    ): Promise<(AttemptRefused | null)[]> {
      return Promise.all(
        contacts.map((contact, i) =>
          service!
            .recordAttempt(
              {
                contact,
                channel: plan.channel,
                campaign: plan.campaign ?? null,
                source: 'dnc-check',
                // A check for another instant (msg.at) records the attempt at that instant.
                ...(at === undefined ? {} : { at }),
                // The Reassigned Numbers Database answers it relied on: the safe-harbour record.
                ...(rnd?.[i] === undefined ? {} : { rnd: rnd[i] }),
              },
              `node:${node.id}`,
              plan,
            )
            .then(
              () => null,
              (error: unknown) => {
                if (error instanceof AttemptRefused) return error;
                throw error;
              },
            ),
        ),
      );
    }

    /** The decision of a contact whose attempt was refused: blocked, with the refusal's reasons. */
    function refusedDecision(
      contact: unknown,
      plan: CheckPlan,
      refused: AttemptRefused,
      at: number | undefined,
    ): Decision {
      const again = service!.checkWithPlan(contact, plan, at);
      if (!again.allowed) return again;
      return { ...again, allowed: false, reasons: refused.reasons, nextAllowedAt: refused.nextAllowedAt };
    }

    function blockedStatus(decision: Decision): NodeStatus {
      const reason = decision.reasons[0];
      const key =
        reason === undefined
          ? 'CHECK_FAILED'
          : reason.code === 'LABEL'
            ? `L:${reason.label}`
            : reason.registry !== undefined
              ? `${reason.code}:${reason.registry}`
              : reason.code === 'UNKNOWN_CHANNEL'
                ? `C:${decision.channel ?? ''}`
                : reason.code;
      let shown = blockedStatuses.get(key);
      if (shown === undefined) {
        if (reason?.code === 'LABEL')
          shown = STATUS.blocked(t('status.blockedLabel', { label: reason.label ?? '' }));
        else if (reason?.code === 'INVALID_CONTACT') shown = STATUS.blocked(t('status.blockedInvalid'));
        else if (reason?.code === 'STORE_UNAVAILABLE')
          shown = STATUS.error(t('runtime.status.storeUnavailable'));
        else if (reason?.code === 'REGISTRY')
          shown = STATUS.blocked(t('status.blockedRegistry', { registry: reason.registry ?? '' }));
        else if (reason?.code === 'REGISTRY_UNAVAILABLE')
          shown = STATUS.error(t('runtime.status.registryUnavailable', { registry: reason.registry ?? '' }));
        else if (reason?.code === 'REGISTRY_STALE')
          shown = STATUS.error(t('runtime.status.registryStale', { registry: reason.registry ?? '' }));
        else if (reason?.code === 'NCPR_PREFERENCE') shown = STATUS.blocked(t('status.blockedNcpr'));
        else if (reason?.code === 'REASSIGNED') shown = STATUS.blocked(t('status.blockedReassigned'));
        else if (reason?.code === 'REASSIGNED_NO_DATA')
          shown = STATUS.blocked(t('status.blockedReassignedNoData'));
        else if (reason?.code === 'CONSENT_DATE_MISSING')
          shown = STATUS.blocked(t('status.blockedNoConsentDate'));
        else if (reason?.code === 'UNKNOWN_CHANNEL')
          shown = STATUS.error(t('status.unknownChannel', { channel: decision.channel ?? '' }));
        else if (reason !== undefined && reason.code in POLICY_STATUS)
          shown = STATUS.blocked(t(POLICY_STATUS[reason.code]));
        else shown = STATUS.error(t('status.checkFailed'));
        if (blockedStatuses.size < MAX_CACHED_PLANS) blockedStatuses.set(key, shown);
      }
      return shown;
    }

    /**
     * Decides and sends; throws only for bad options (unknown label, bad channel, wrong shape). Returns
     * a promise when allowed contacts are recorded as attempts first.
     */
    function run(msg: NodeMessageInFlow, contact: unknown, send: Send): Promise<void> | void {
      // "May I call at 14:00 tomorrow?": msg.at, ISO 8601 or epoch ms; absent: now.
      const at = blank(msg.at) ? undefined : checkInstantOf(msg.at as string | number, Date.now, 'msg.at');
      if (Array.isArray(contact)) {
        const options = { ...optionsFor(msg), ...(at === undefined ? {} : { at }) };
        const plan = planFor(msg);
        // Service-backed registries answer asynchronously (each service asked once for the list).
        if (plan.registries?.async === true) {
          return service!
            .checkManyAsync(contact, options)
            .then((result) => deliverMany(msg, result, plan, at, send));
        }
        return deliverMany(msg, service!.checkMany(contact, options), plan, at, send);
      }
      const plan = planFor(msg);
      if (plan.registries?.async === true) {
        return service!
          .checkWithPlanAsync(contact, plan, at)
          .then((decision) => deliverOne(msg, contact, decision, plan, at, send));
      }
      return deliverOne(msg, contact, service!.checkWithPlan(contact, plan, at), plan, at, send);
    }

    function deliverMany(
      msg: NodeMessageInFlow,
      result: BatchDecision,
      plan: CheckPlan,
      at: number | undefined,
      send: Send,
    ): Promise<void> | void {
      if (recordAttempts && result.allowed.length > 0) {
        return record(result.allowed, plan, at, result.allowedRnd).then((refusals) => {
          const refused = refusals.some((refusal) => refusal !== null);
          deliverList(msg, refused ? withRefusals(result, refusals, plan, at) : result, plan, send);
        });
      }
      deliverList(msg, result, plan, send);
    }

    /** A list's result after recording: the items whose attempt was refused move to the blocked. */
    function withRefusals(
      result: BatchDecision,
      refusals: (AttemptRefused | null)[],
      plan: CheckPlan,
      at: number | undefined,
    ): BatchDecision {
      const tally = new BatchTally();
      result.allowed.forEach((item, i) => {
        const refusal = refusals[i];
        if (refusal === null) tally.allow(item);
      });
      for (const { item, decision } of result.blocked) tally.block(item, decision);
      result.allowed.forEach((item, i) => {
        const refusal = refusals[i];
        if (refusal !== null) tally.block(item, refusedDecision(item, plan, refusal, at));
      });
      return tally.result(result.summary.total, result.checkedAt);
    }

    function deliverList(msg: NodeMessageInFlow, result: BatchDecision, plan: CheckPlan, send: Send): void {
      msg.payload = result.allowed;
      const dnc = putResult(msg, OWNED, {
        summary: result.summary,
        checkedAt: result.checkedAt,
        channel: plan.channel,
        labels: plan.selected === null ? null : [...plan.selected],
      });
      // Node-RED deep-clones every message after the first it sends, so a shallow copy is enough here.
      const blockedMsg: NodeMessage = { ...msg, payload: ownBlocked(result.blocked), dnc };
      const { total, blocked } = result.summary;
      if (blocked > 0) status.blocked('status.batchBlocked', { blocked, total });
      else status.ok('status.batchAllowed', { total });
      send([msg, blockedMsg]);
    }

    function deliverOne(
      msg: NodeMessageInFlow,
      contact: unknown,
      decision: Decision,
      plan: CheckPlan,
      at: number | undefined,
      send: Send,
    ): Promise<void> | void {
      putResult(msg, OWNED, ownReasons(decision));
      if (decision.allowed) {
        if (recordAttempts) {
          return record([contact], plan, at, [rndRecordsOf(decision)]).then(([refused]) => {
            if (refused !== null) {
              const blocked = refusedDecision(contact, plan, refused, at);
              putResult(msg, OWNED, ownReasons(blocked));
              status.show(blockedStatus(blocked));
              send([null, msg]);
              return;
            }
            status.show(allowedStatus);
            send([msg, null]);
          });
        }
        status.show(allowedStatus);
        send([msg, null]);
      } else {
        status.show(blockedStatus(decision));
        send([null, msg]);
      }
    }

    let queued = 0;
    async function slowPath(msg: NodeMessageInFlow, send: Send): Promise<void> {
      queued += 1;
      try {
        // Right after deploy the store may still be opening: wait for it rather than block everyone.
        // When it cannot open, the check blocks with STORE_UNAVAILABLE (fail closed).
        if (!link.settled()) await service!.whenReady().catch(() => undefined);
        const contact = contactProp!.async ? await contactProp!.evaluate(msg) : contactProp!.get(msg);
        await run(msg, contact, send);
      } finally {
        queued -= 1;
      }
    }

    // The fast path: a contact read synchronously, no message waiting before this one, the store open.
    handleInput(
      node,
      status,
      (msg, send) =>
        !contactProp!.async && queued === 0 && link.settled()
          ? run(msg, contactProp!.get(msg), send)
          : slowPath(msg, send),
      {
        setupError,
        fallback: 'DNC_INVALID_INPUT',
        // Attempts recorded for allowed contacts are writes: the store stays open for them.
        writes: recordAttempts ? link.binding : null,
        close: () => {
          link.dispose();
          registryLinks.dispose();
          plansByChannel.clear();
        },
      },
    );
  }

  RED.nodes.registerType('dnc-check', DncCheck);
};
