/**
 * End to end: the REAL Python language server, started through the extension's own
 * launch module (preflight, command line, environment), driven over stdio with
 * vscode-languageserver-protocol: initialize -> inline completion after a `-- question`
 * comment on a real SQLite copy of Chinook, answered by the tiny overfit test model.
 *
 * Needs TEXT2SQL_TEST_MODEL (the directory `python -m tests.fixtures.tiny_model` prints);
 * skipped with a message when it is unset, except under CI=true, where it must run.
 * TEXT2SQL_TEST_PYTHON picks the interpreter (default: the extension's default).
 */

import assert from "node:assert/strict";
import { execFileSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";

import {
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  InlineCompletionRequest,
  ShutdownRequest,
  type InlineCompletionItem,
  type InlineCompletionList,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

import { resolveInterpreter, type ResolvedInterpreter } from "../src/interpreter";
import { buildServerLaunch, preflight, serverEnvironment, startServerProcess } from "../src/launch";
import { configurationChangeParams, inlineCompletionParams } from "../src/protocol";
import { readSettings, toServerSettings } from "../src/settings";
import { parseServerStatus, renderStatus, STATUS_PARAMS, STATUS_REQUEST, type ServerStatus } from "../src/status";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const MODEL_DIR = process.env.TEXT2SQL_TEST_MODEL ?? "";
const IN_CI = process.env.CI === "true";
const SKIP_REASON =
  "TEXT2SQL_TEST_MODEL is unset: run `python -m tests.fixtures.tiny_model` from the repository root and export " +
  "TEXT2SQL_TEST_MODEL=<the directory it prints> to run the end-to-end test (it is mandatory when CI=true)";

const MODEL_READY_TIMEOUT_MS = 240_000;

interface TinyPair {
  question: string;
  sql: string;
}

/** The questions the tiny model was overfit to, read from the fixture itself. */
function tinyPairs(python: ResolvedInterpreter): TinyPair[] {
  const code = "import json; from tests.fixtures.tiny_model import TINY_PAIRS; print(json.dumps(TINY_PAIRS))";
  const out = execFileSync(python.command, [...python.args, "-c", code], { cwd: REPO_ROOT, encoding: "utf8" });
  const raw = JSON.parse(out.trim().split("\n").pop() ?? "[]") as unknown[];
  return raw.map((pair) => {
    if (Array.isArray(pair)) {
      return { question: String(pair[0]), sql: String(pair[1]) };
    }
    const record = pair as Record<string, unknown>;
    return { question: String(record.question), sql: String(record.sql) };
  });
}

function sqliteUrl(file: string): string {
  return `sqlite:///${file}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function insertText(item: InlineCompletionItem): string {
  return typeof item.insertText === "string" ? item.insertText : item.insertText.value;
}

/** Each test is reported as skipped (with the reason) when there is no model to run. */
const SKIP: string | false = !MODEL_DIR && !IN_CI ? SKIP_REASON : false;

describe("the real language server, launched by the extension's launch module", () => {
  let workDir = "";
  let serverProcess: ChildProcess | undefined;
  let connection: ProtocolConnection | undefined;
  let stderr = "";
  const messages: string[] = [];

  function rpc(): ProtocolConnection {
    assert.ok(connection, "the server connection was not set up");
    return connection;
  }

  /** Poll `text2sql/status` until `done` holds, failing with the last status and the log. */
  async function waitForStatus(done: (status: ServerStatus) => boolean, timeoutMs: number): Promise<ServerStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      last = await rpc().sendRequest(STATUS_REQUEST, STATUS_PARAMS);
      const status = parseServerStatus(last);
      if (done(status)) {
        return status;
      }
      assert.notEqual(status.model, "error", `model failed to load: ${JSON.stringify(last)}\n${stderr.slice(-3000)}`);
      await sleep(500);
    }
    assert.fail(`timed out waiting for the server; last ${STATUS_REQUEST}: ${JSON.stringify(last)}\nserver log:\n${stderr.slice(-3000)}`);
  }

  let python: ResolvedInterpreter;
  let pairs: TinyPair[] = [];
  let dbFile = "";

  before(async () => {
    if (SKIP) {
      return;
    }
    assert.ok(MODEL_DIR, `CI=true requires the end-to-end test: ${SKIP_REASON}`);
    assert.ok(fs.existsSync(MODEL_DIR), `TEXT2SQL_TEST_MODEL=${MODEL_DIR} does not exist`);
    python = resolveInterpreter({
      configured: process.env.TEXT2SQL_TEST_PYTHON,
      platform: process.platform,
      env: process.env,
    });
    pairs = tinyPairs(python);
    assert.ok(pairs.length > 0, "TINY_PAIRS is empty");

    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "t2s-vscode-e2e-"));
    dbFile = path.join(workDir, "chinook.sqlite");
    fs.copyFileSync(path.join(REPO_ROOT, "text2sql", "data", "chinook.sqlite"), dbFile);

    // The same steps as extension.ts: preflight, then the launch built from the settings.
    await preflight(python, { env: serverEnvironment(process.env, "debug"), cwd: workDir });
    const launch = buildServerLaunch(python, { logLevel: "debug", baseEnv: process.env, cwd: workDir });
    const child = startServerProcess(launch);
    serverProcess = child;
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    assert.ok(child.stdout && child.stdin);
    connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    connection.onNotification("window/showMessage", (params: { message: string }) => messages.push(params.message));
    connection.onNotification("window/logMessage", () => undefined);
    connection.onNotification("$/progress", () => undefined);
    connection.onRequest("window/workDoneProgress/create", () => null);
    connection.onRequest("client/registerCapability", () => null);
    connection.listen();
  });

  after(async () => {
    const child = serverProcess;
    if (connection && child && child.exitCode === null) {
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      try {
        await connection.sendRequest(ShutdownRequest.type);
        await connection.sendNotification(ExitNotification.type);
        const code = await Promise.race([exited, sleep(10_000).then(() => "timeout" as const)]);
        assert.equal(code, 0, `the server should exit cleanly after shutdown/exit; log:\n${stderr.slice(-2000)}`);
      } finally {
        child.kill();
        connection.dispose();
      }
    }
    if (workDir) {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  });

  it("initializes with the extension's initializationOptions and offers inline completion", { skip: SKIP, timeout: 60_000 }, async () => {
    const { settings, problems } = readSettings(
      (key) => ({ model: MODEL_DIR, adapter: "none", precision: "fp32", device: "cpu", connection: sqliteUrl(dbFile) })[key],
    );
    assert.deepEqual(problems, []);
    const result = await rpc().sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: pathToFileURL(workDir).href,
      workspaceFolders: [{ uri: pathToFileURL(workDir).href, name: "e2e" }],
      capabilities: {
        textDocument: {
          synchronization: { dynamicRegistration: false },
          inlineCompletion: { dynamicRegistration: false },
        },
        window: { workDoneProgress: true },
      },
      initializationOptions: toServerSettings(settings, sqliteUrl(dbFile)),
    });
    assert.ok(result.capabilities.inlineCompletionProvider, `no inlineCompletionProvider in ${JSON.stringify(result.capabilities)}`);
    await rpc().sendNotification(InitializedNotification.type, {});
  });

  it("loads the model and reports ready through text2sql/status", { skip: SKIP, timeout: MODEL_READY_TIMEOUT_MS + 10_000 }, async () => {
    const status = await waitForStatus((s) => s.model === "ready", MODEL_READY_TIMEOUT_MS);
    const view = renderStatus({ phase: "running", server: status, connectionLabel: "chinook" });
    assert.match(view.text, /Text2SQL: ready · chinook$/);
    assert.deepEqual(messages, [], "no error messages expected for a valid configuration");
  });

  /** Open `-- question` in a new document and ask for inline items below it, as the extension would. */
  async function inlineItemsFor(question: string, name: string, trigger: "invoked" | "automatic"): Promise<InlineCompletionItem[]> {
    const uri = pathToFileURL(path.join(workDir, name)).href;
    await rpc().sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: "sql", version: 1, text: `-- ${question}\n` },
    });
    // The params exactly as the extension's middleware builds them.
    const params = inlineCompletionParams(uri, { line: 1, character: 0 }, trigger);
    const result = await rpc().sendRequest<InlineCompletionList | InlineCompletionItem[] | null>(InlineCompletionRequest.method, params);
    return Array.isArray(result) ? result : (result?.items ?? []);
  }

  it("answers a `-- question` with exactly the SQL the tiny model was trained on", { skip: SKIP, timeout: 120_000 }, async () => {
    const { question, sql } = pairs[0];
    const items = await inlineItemsFor(question, "question.sql", "invoked");
    assert.equal(items.length, 1, `expected one inline item, got ${JSON.stringify(items)}\nlog:\n${stderr.slice(-2000)}`);
    assert.equal(insertText(items[0]), sql);
    const status = await waitForStatus((s) => s.running === 0 && s.finished >= 1, 10_000);
    assert.equal(status.cancelled, 0);
  });

  it("applies a connection change sent the way the extension sends it", { skip: SKIP, timeout: 60_000 }, async () => {
    const before = parseServerStatus(await rpc().sendRequest(STATUS_REQUEST, STATUS_PARAMS));
    const otherFile = path.join(workDir, "chinook-2.sqlite");
    fs.copyFileSync(dbFile, otherFile);
    const { settings } = readSettings(
      (key) => ({ model: MODEL_DIR, adapter: "none", precision: "fp32", device: "cpu", trigger: "manual" })[key],
    );
    await rpc().sendNotification(
      DidChangeConfigurationNotification.type,
      configurationChangeParams(toServerSettings(settings, sqliteUrl(otherFile))),
    );
    const after = await waitForStatus((s) => s.connection !== undefined && s.connection.includes("chinook-2"), 30_000);
    assert.equal(after.model, "ready");
    assert.notEqual(before.connection, after.connection);
  });

  it("with trigger manual, ignores automatic requests and answers explicit ones (trigger kinds as sent)", { skip: SKIP, timeout: 120_000 }, async () => {
    // The previous test switched the server to trigger=manual through didChangeConfiguration.
    const longest = [...pairs].sort((a, b) => b.sql.length - a.sql.length)[0];
    assert.deepEqual(await inlineItemsFor(longest.question, "automatic.sql", "automatic"), []);
    const items = await inlineItemsFor(longest.question, "invoked.sql", "invoked");
    assert.equal(items.length, 1, `expected one inline item; log:\n${stderr.slice(-2000)}`);
    assert.equal(insertText(items[0]), longest.sql);
  });
});
