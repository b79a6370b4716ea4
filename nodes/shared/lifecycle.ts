/**
 * How every DNC node starts, handles a message and closes, so the wiring is written once:
 * - `startNode` creates the node with its translator and status reporter; `setupFailed` reports a
 *   configuration or option error at deploy (status, node.error) and returns it for every message;
 * - a node whose setup failed (no or invalid configuration, bad options) shows the error in its status
 *   and ends every message with it (`done(err)`, for a Catch node, with `msg.dnc.error`);
 * - the node's handler sends what it has to send and either returns (the message is done) or returns a
 *   promise (done when it settles); anything it throws or rejects with ends the message with an Error
 *   carrying a stable code, shown in the status and put on the message as `msg.dnc.error` (errors.ts);
 * - a node that writes to the store keeps it open while a message's write is on its way to disk, and its
 *   close waits for those writes, so a redeploy never drops an acknowledged change.
 * The synchronous path allocates nothing per message (Check DNC answers most messages on it).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { DncBinding } from './config';
import { putError, toCodedError, type CodedError, type NodeErrorCode } from './errors';
import { translator, type Translate } from './i18n';
import { StatusReporter } from './status';

/** A started node: itself, its message catalog and its status. */
export interface StartedNode {
  readonly node: Node;
  readonly t: Translate;
  readonly status: StatusReporter;
}

/**
 * Creates the node (RED.nodes.createNode) with the translator of its type's catalog and its status
 * reporter; `readyKey` names its own "ready" text when the shared one does not fit.
 */
export function startNode(
  RED: NodeAPI,
  node: Node,
  def: NodeDef,
  type: string,
  readyKey?: string,
): StartedNode {
  RED.nodes.createNode(node, def);
  const t = translator(RED, type);
  return { node, t, status: new StatusReporter(node, t, readyKey) };
}

/** A setup error (bad configuration or options) as every node reports it at deploy: status and log. */
export function setupFailed(node: Node, status: StatusReporter, err: unknown): CodedError {
  const error = toCodedError(err, 'DNC_INVALID_INPUT');
  status.error(error.code);
  node.error(error.message);
  return error;
}

/** Node-RED's `send` of an input handler. */
export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
/** Node-RED's `done` of an input handler. */
export type Done = (err?: Error) => void;

/** Handles one message: sends its outputs, then returns, or returns a promise that settles once done. */
export type InputHandler = (msg: NodeMessageInFlow, send: Send) => Promise<void> | void;

export interface InputOptions {
  /** Why the node cannot handle messages (bad configuration or options), or null. */
  readonly setupError: CodedError | null;
  /** The code of a failure that carries none: DNC_INVALID_INPUT where bad input is the likely cause. */
  readonly fallback?: NodeErrorCode;
  /**
   * The binding of a node that writes: each message's work is tracked there (the store stays open until
   * it settles) and the node's close waits for it. Absent: the node's close does not wait.
   */
  readonly writes?: DncBinding | null;
  /** Runs first on close: unsubscribe from config nodes, drop caches. */
  readonly close?: () => void;
}

/** Registers the node's input and close handlers. */
export function handleInput(
  node: Node,
  status: StatusReporter,
  handler: InputHandler,
  options: InputOptions,
): void {
  const { setupError, writes } = options;
  const fallback = options.fallback ?? 'DNC_STORE_ERROR';
  const pending = writes ? new Set<Promise<void>>() : null;

  function fail(msg: NodeMessageInFlow, err: unknown, done: Done): void {
    const error = toCodedError(err, fallback);
    status.error(error.code);
    putError(msg, error);
    done(error);
  }

  node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
    if (setupError !== null) {
      status.error(setupError.code);
      putError(msg, setupError);
      done(setupError);
      return;
    }
    let work: Promise<void> | void;
    try {
      work = handler(msg, send);
    } catch (err) {
      fail(msg, err, done);
      return;
    }
    if (work === undefined) {
      done();
      return;
    }
    if (writes && pending !== null) {
      const tracked = writes.track(work);
      pending.add(tracked);
      const forget = () => pending.delete(tracked);
      tracked.then(forget, forget);
    }
    work.then(
      () => done(),
      (err: unknown) => fail(msg, err, done),
    );
  });

  handleClose(node, status, options.close, pending);
}

/**
 * Registers the node's close handler: `cleanup` first, then (for a node that writes) the writes still on
 * their way to disk finish, then the status is cleared. Both parameters are declared: Node-RED waits for
 * a close handler that takes `done`.
 */
export function handleClose(
  node: Node,
  status: StatusReporter,
  cleanup?: () => void,
  pending?: ReadonlySet<Promise<void>> | null,
): void {
  node.on('close', (_removed: boolean, done: () => void) => {
    cleanup?.();
    if (pending === undefined || pending === null || pending.size === 0) {
      status.clear();
      done();
      return;
    }
    // Let changes already on their way to disk finish (and acknowledge) before the store is released.
    void Promise.allSettled([...pending]).then(() => {
      status.clear();
      done();
    });
  });
}
