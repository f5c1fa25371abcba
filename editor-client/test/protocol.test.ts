/** The server's command and configuration contract, as the extension uses it. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { InlineCompletionTriggerKind } from "vscode-languageserver-protocol";

import { configurationChangeParams, describeGenerateResult, generateCommandArguments, inlineCompletionParams } from "../src/protocol";

describe("text2sql.generate", () => {
  it("passes the document URI and the cursor position", () => {
    assert.deepEqual(generateCommandArguments("file:///q.sql", { line: 3, character: 7 }), ["file:///q.sql", { line: 3, character: 7 }]);
  });

  it("says nothing when the SQL was inserted or the server already explained", () => {
    assert.equal(describeGenerateResult({ applied: true, question: "q", sql: "SELECT 1;" }), undefined);
    assert.equal(describeGenerateResult({ applied: false, reason: "no question at the cursor" }), undefined);
    assert.equal(describeGenerateResult(null), undefined);
  });

  it("explains why no SQL was generated", () => {
    assert.equal(
      describeGenerateResult({ applied: false, question: "top albums", reason: "no answer (see the log)" }),
      'no SQL for "top albums": no answer (see the log)',
    );
    assert.equal(describeGenerateResult({ applied: false, reason: "model is loading" }), "no SQL generated: model is loading");
  });
});

describe("workspace/didChangeConfiguration", () => {
  it("sends the server settings under the text2sql section", () => {
    assert.deepEqual(configurationChangeParams({ precision: "auto", device: "cpu", trigger: "manual" }), {
      settings: { text2sql: { precision: "auto", device: "cpu", trigger: "manual" } },
    });
  });
});

describe("textDocument/inlineCompletion params", () => {
  it("uses the LSP 3.18 trigger kinds (Invoked = 1, Automatic = 2), not the 3.17.5 proposal's", () => {
    // The library the client is built on still has the proposal's numbering: the reason
    // the extension builds these params itself.
    assert.deepEqual([InlineCompletionTriggerKind.Invoked, InlineCompletionTriggerKind.Automatic], [0, 1]);
    assert.deepEqual(inlineCompletionParams("file:///q.sql", { line: 1, character: 0 }, "invoked"), {
      textDocument: { uri: "file:///q.sql" },
      position: { line: 1, character: 0 },
      context: { triggerKind: 1 },
    });
    assert.equal(inlineCompletionParams("file:///q.sql", { line: 0, character: 4 }, "automatic").context.triggerKind, 2);
  });

  it("passes the selected completion through", () => {
    const range = { start: { line: 2, character: 0 }, end: { line: 2, character: 3 } };
    assert.deepEqual(inlineCompletionParams("u", { line: 2, character: 3 }, "automatic", { range, text: "SEL" }).context, {
      triggerKind: 2,
      selectedCompletionInfo: { range, text: "SEL" },
    });
  });
});
