#!/usr/bin/env node
// A Partita worker in Node.js, written from protos/partita/v1/worker.proto alone
// (no generated code, no Partita SDK): it proves that any gRPC language can work
// a task queue. tests/e2e/test_node_worker.py runs it against a real plane.
//
//   node worker.js --server HOST:PORT --protos DIR --queue Q [--tasks N]
//                  [--namespace NS] [--identity ID]
//
// --server and --protos fall back to $PARTITA_SERVER and $PARTITA_PROTOS.
// Task types: `add` completes with {sum: a + b, worker: "node"}; `explode`
// fails with a non-retryable `Explode` failure; anything else fails with a
// retryable `UnknownTaskType`, so a worker that knows the type can take it.
// The worker exits 0 after N tasks (0: never) or on SIGTERM/SIGINT, and 1 on
// an RPC error it does not expect.
"use strict";

const os = require("node:os");
const path = require("node:path");
const { parseArgs } = require("node:util");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

// The plane answers an empty long poll after its --poll-timeout (60 s by
// default); the call's own deadline must be longer than that.
const POLL_DEADLINE_MS = 90_000;
const CALL_DEADLINE_MS = 10_000;
const RETRY_DELAY_MS = 200;

const { values: args } = parseArgs({
  options: {
    server: { type: "string", default: process.env.PARTITA_SERVER },
    protos: { type: "string", default: process.env.PARTITA_PROTOS },
    queue: { type: "string" },
    namespace: { type: "string", default: "" },
    tasks: { type: "string", default: "0" },
    identity: { type: "string", default: `node:${os.hostname()}:${process.pid}` },
  },
});
if (!args.server || !args.protos || !args.queue) {
  console.error("usage: worker.js --server HOST:PORT --protos DIR --queue Q [--tasks N]");
  process.exit(2);
}

// -- google.protobuf.Struct <-> plain JSON --------------------------------------------------
// proto-loader hands a Struct over as the message it is,
// {fields: {k: {numberValue: 1} | {stringValue: "x"} | ...}}, and expects the same back.

function fromValue(value) {
  switch (value.kind) {
    case "nullValue":
      return null;
    case "numberValue":
      return value.numberValue;
    case "stringValue":
      return value.stringValue;
    case "boolValue":
      return value.boolValue;
    case "structValue":
      return fromStruct(value.structValue);
    case "listValue":
      return (value.listValue.values || []).map(fromValue);
    default:
      throw new Error(`unknown google.protobuf.Value kind ${value.kind}`);
  }
}

function fromStruct(struct) {
  const object = {};
  for (const [key, value] of Object.entries((struct && struct.fields) || {})) {
    object[key] = fromValue(value);
  }
  return object;
}

function toValue(value) {
  if (value === null || value === undefined) return { nullValue: "NULL_VALUE" };
  if (typeof value === "number") return { numberValue: value };
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  if (typeof value === "object") return { structValue: toStruct(value) };
  throw new TypeError(`cannot put a ${typeof value} in a google.protobuf.Value`);
}

function toStruct(object) {
  const fields = {};
  for (const [key, value] of Object.entries(object)) fields[key] = toValue(value);
  return { fields };
}

// -- the client ------------------------------------------------------------------------------

// Named relative to the protos root, as its imports are (`partita/v1/common.proto`);
// google/protobuf/*.proto come with proto-loader.
const definition = protoLoader.loadSync("partita/v1/worker.proto", {
  includeDirs: [path.resolve(args.protos)],
  keepCase: false, // task_token -> taskToken, non_retryable -> nonRetryable
  enums: String,
  longs: String,
  oneofs: true, // a Value says which of its fields is set in `kind`
});
const { WorkerService } = grpc.loadPackageDefinition(definition).partita.v1;
const client = new WorkerService(args.server, grpc.credentials.createInsecure());

let polling = null; // the long poll in flight, which SIGTERM cancels
let stopping = false;

// Calls a unary method; `onCall` gets the call object (to cancel it).
function rpc(method, request, deadlineMs = CALL_DEADLINE_MS, onCall = () => {}) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + deadlineMs);
    onCall(
      client[method](request, { deadline }, (error, response) => {
        if (error) reject(error);
        else resolve(response);
      }),
    );
  });
}

// A task in hand is finished and reported; only a waiting poll is cut short.
function stop(signal) {
  console.log(`worker: ${signal}, stopping`);
  stopping = true;
  if (polling) polling.cancel();
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

// -- handlers --------------------------------------------------------------------------------

class TaskFailure extends Error {
  constructor(type, message, nonRetryable) {
    super(message);
    this.type = type;
    this.nonRetryable = nonRetryable;
  }
}

const handlers = {
  add: ({ a, b }) => ({ sum: a + b, worker: "node" }),
  explode: () => {
    throw new TaskFailure("Explode", "the explode task always explodes", true);
  },
};

// -- the loop --------------------------------------------------------------------------------

async function work(task) {
  // The token is bytes (a Buffer here): opaque, passed back exactly as it came.
  const token = task.taskToken;
  const identity = args.identity;
  const beat = await rpc("HeartbeatStageTask", { taskToken: token, identity });
  if (beat.cancelRequested) {
    console.log(`worker: ${task.activationId}/${task.stage} cancelled, not reporting`);
    return;
  }
  const handler = handlers[task.taskType];
  try {
    if (!handler) {
      throw new TaskFailure("UnknownTaskType", `no handler for ${task.taskType}`, false);
    }
    const outputs = handler(fromStruct(task.inputs));
    await rpc("CompleteStageTask", { taskToken: token, outputs: toStruct(outputs), identity });
    console.log(`worker: ${task.activationId}/${task.stage} completed ${JSON.stringify(outputs)}`);
  } catch (error) {
    if (!(error instanceof TaskFailure)) throw error;
    const failure = { type: error.type, message: error.message, nonRetryable: error.nonRetryable };
    await rpc("FailStageTask", { taskToken: token, failure, identity });
    console.log(`worker: ${task.activationId}/${task.stage} failed ${error.type}`);
  }
}

const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

async function main() {
  const limit = Number.parseInt(args.tasks, 10);
  let done = 0;
  console.log(`worker: ${args.identity} polling ${args.queue} at ${args.server}`);
  while (!stopping && (limit === 0 || done < limit)) {
    let response;
    try {
      const request = { namespace: args.namespace, taskQueue: args.queue, identity: args.identity };
      response = await rpc("PollStageTask", request, POLL_DEADLINE_MS, (call) => {
        polling = call;
      });
    } catch (error) {
      if (stopping && error.code === grpc.status.CANCELLED) break;
      if (!RETRYABLE.has(error.code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      continue;
    } finally {
      polling = null;
    }
    if (!response.task) continue; // the long poll ended empty: poll again
    await work(response.task);
    done += 1;
  }
  console.log(`worker: done after ${done} task(s)`);
  client.close();
}

main().catch((error) => {
  console.error(`worker: ${error.stack || error}`);
  process.exit(1);
});
