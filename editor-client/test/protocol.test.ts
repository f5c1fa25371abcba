/** The server's command and configuration contract, as the extension uses it. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { configurationChangeParams, describeGenerateResult, generateCommandArguments } from "../src/protocol";

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
