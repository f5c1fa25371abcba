/** The status bar item: client phase + `text2sql/status` answer -> text, tooltip, severity. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseServerStatus, renderStatus, type ServerStatus } from "../src/status";

function server(overrides: Partial<ServerStatus>): ServerStatus {
  return { ...parseServerStatus({}), ...overrides };
}

describe("parseServerStatus", () => {
  it("reads the server's documented answer (server/status.py)", () => {
    const parsed = parseServerStatus({
      model: { state: "ready", name: "tiny-gemma", error: null },
      schema: { connection: "sqlite:////tmp/chinook.sqlite", version: "3f2a", tables: 11, error: null },
      activity: { running: 0, cancelled: 2, finished: 5, failed: 0 },
      cache: { hits: 1, misses: 6, size: 6 },
      settings: { connection: "sqlite:////tmp/chinook.sqlite", precision: "fp32" },
    });
    assert.deepEqual(parsed, {
      model: "ready",
      modelName: "tiny-gemma",
      modelError: undefined,
      schemaVersion: "3f2a",
      schemaError: undefined,
      connection: "sqlite:////tmp/chinook.sqlite",
      tables: 11,
      running: 0,
      cancelled: 2,
      finished: 5,
      cacheHits: 1,
    });
  });

  it("treats not_loaded and loading as loading, and error as error", () => {
    assert.equal(parseServerStatus({ model: { state: "not_loaded" } }).model, "loading");
    assert.equal(parseServerStatus({ model: { state: "loading" } }).model, "loading");
    assert.equal(parseServerStatus({ model: { state: "error", error: "no such dir" } }).modelError, "no such dir");
  });

  it("never throws on malformed answers", () => {
    for (const raw of [null, undefined, 42, "ready", [], { model: 3, activity: "x", cache: null }]) {
      const parsed = parseServerStatus(raw);
      assert.equal(parsed.model, "unknown");
      assert.equal(parsed.running, 0);
    }
  });

  it("ignores negative or non-numeric counters", () => {
    const parsed = parseServerStatus({ model: { state: "ready" }, activity: { running: -1, finished: "3", cancelled: 2 } });
    assert.deepEqual([parsed.running, parsed.finished, parsed.cancelled], [0, 0, 2]);
  });
});

describe("renderStatus", () => {
  it("spins while the client starts and while the model loads", () => {
    const starting = renderStatus({ phase: "starting" });
    assert.equal(starting.text, "$(loading~spin) Text2SQL: starting");
    assert.equal(starting.busy, true);
    const loading = renderStatus({ phase: "running", server: server({ model: "loading" }), connectionLabel: "shop" });
    assert.equal(loading.text, "$(loading~spin) Text2SQL: loading model · shop");
    assert.match(loading.tooltip, /Schema features work now/);
    assert.equal(loading.busy, true);
  });

  it("shows ready with the connection, and the counters in the tooltip", () => {
    const view = renderStatus({
      phase: "running",
      connectionLabel: "Chinook demo",
      server: server({ model: "ready", modelName: "tiny", schemaVersion: "ab12", tables: 11, finished: 3, cancelled: 1, cacheHits: 2 }),
    });
    assert.equal(view.text, "$(database) Text2SQL: ready · Chinook demo");
    assert.equal(view.severity, "normal");
    assert.equal(view.busy, false);
    assert.match(view.tooltip, /Model: tiny \(ready\)/);
    assert.match(view.tooltip, /Schema: version ab12, 11 tables/);
    assert.match(view.tooltip, /0 running, 3 finished, 1 cancelled; 2 cache hits/);
  });

  it("shows generating while a generation runs", () => {
    const view = renderStatus({ phase: "running", server: server({ model: "ready", running: 1 }) });
    assert.equal(view.text, "$(sync~spin) Text2SQL: generating");
    assert.equal(view.busy, true);
  });

  it("shows errors with their reason", () => {
    const failed = renderStatus({ phase: "failed", error: "text2sql is not installed in the Python \"python3\"." });
    assert.equal(failed.text, "$(error) Text2SQL: error");
    assert.equal(failed.severity, "error");
    assert.match(failed.tooltip, /not installed/);
    const model = renderStatus({ phase: "running", server: server({ model: "error", modelError: "no such file: /m" }) });
    assert.equal(model.text, "$(error) Text2SQL: model error");
    assert.match(model.tooltip, /Model failed to load: no such file: \/m/);
    const schema = renderStatus({ phase: "running", server: server({ model: "ready", schemaError: "could not connect" }), connectionLabel: "shop" });
    assert.equal(schema.text, "$(warning) Text2SQL: no schema · shop");
    assert.equal(schema.severity, "warning");
  });

  it("tells how to restart a stopped server", () => {
    const view = renderStatus({ phase: "stopped" });
    assert.equal(view.text, "$(circle-slash) Text2SQL: stopped");
    assert.match(view.tooltip, /Text2SQL: Restart Server/);
  });
});
