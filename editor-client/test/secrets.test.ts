/** Passwords: kept in the secret store, merged into URLs only at launch, redacted in logs. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  connectionUrlWithSecret,
  hasInlinePassword,
  redactText,
  redactUrl,
  secretKey,
  setConnectionPassword,
  urlUsername,
  withPassword,
  type SecretStore,
} from "../src/secrets";

/** An in-memory SecretStore (VS Code's is the OS keychain; the contract is the same). */
class MemoryStore implements SecretStore {
  readonly values = new Map<string, string>();
  get(key: string) {
    return Promise.resolve(this.values.get(key));
  }
  store(key: string, value: string) {
    this.values.set(key, value);
    return Promise.resolve();
  }
  delete(key: string) {
    this.values.delete(key);
    return Promise.resolve();
  }
}

describe("withPassword", () => {
  it("inserts a percent-encoded password after the user name", () => {
    assert.equal(withPassword("postgresql://me@localhost:5432/shop", "s3cret"), "postgresql://me:s3cret@localhost:5432/shop");
    assert.equal(
      withPassword("mysql+pymysql://root@127.0.0.1/test?charset=utf8mb4", "p@ss/w:rd %"),
      "mysql+pymysql://root:p%40ss%2Fw%3Ard%20%25@127.0.0.1/test?charset=utf8mb4",
    );
  });

  it("replaces a password already in the URL", () => {
    assert.equal(withPassword("postgresql://me:old@db/shop", "new"), "postgresql://me:new@db/shop");
  });

  it("refuses a URL without a user name, saying how to write one", () => {
    assert.throws(() => withPassword("postgresql://localhost/shop", "x"), /no user name.*postgresql:\/\/USER@localhost\/shop/);
    assert.throws(() => withPassword("sqlite:////tmp/a@b.db", "x"), /no user name/);
    assert.throws(() => withPassword("not a url", "x"), /Not a SQLAlchemy URL/);
  });
});

describe("redaction", () => {
  it("hides the password in a URL and leaves other URLs alone", () => {
    assert.equal(redactUrl("postgresql://me:s3cret@localhost/shop"), "postgresql://me:***@localhost/shop");
    assert.equal(redactUrl("postgresql://me@localhost/shop"), "postgresql://me@localhost/shop");
    assert.equal(redactUrl("sqlite:////tmp/x.db"), "sqlite:////tmp/x.db");
  });

  it("hides passwords inside longer text", () => {
    const line = "connecting to postgresql+psycopg://me:p%40ss@db:5432/shop and mysql://root:x@h/t failed";
    assert.equal(redactText(line), "connecting to postgresql+psycopg://me:***@db:5432/shop and mysql://root:***@h/t failed");
  });

  it("detects inline passwords and reads the user name", () => {
    assert.equal(hasInlinePassword("postgresql://me:pw@db/shop"), true);
    assert.equal(hasInlinePassword("postgresql://me@db/shop"), false);
    assert.equal(hasInlinePassword("sqlite:///a.db"), false);
    assert.equal(urlUsername("postgresql://j%C3%B6rg@db/shop"), "jörg");
    assert.equal(urlUsername("sqlite:///a.db"), undefined);
  });
});

describe("connectionUrlWithSecret", () => {
  it("merges the stored password for the connection into its URL", async () => {
    const store = new MemoryStore();
    await setConnectionPassword("shop", "s3cret", store);
    assert.deepEqual([...store.values.keys()], [secretKey("shop")]);
    assert.equal(await connectionUrlWithSecret("shop", "postgresql://me@db/shop", store), "postgresql://me:s3cret@db/shop");
  });

  it("leaves the URL unchanged without a stored password, and after the password is removed", async () => {
    const store = new MemoryStore();
    assert.equal(await connectionUrlWithSecret("shop", "postgresql://me@db/shop", store), "postgresql://me@db/shop");
    await setConnectionPassword("shop", "pw", store);
    await setConnectionPassword("shop", "", store);
    assert.equal(store.values.size, 0);
    assert.equal(await connectionUrlWithSecret("shop", "postgresql://me@db/shop", store), "postgresql://me@db/shop");
  });

  it("does not touch the demo database or config-file names", async () => {
    const store = new MemoryStore();
    await setConnectionPassword("warehouse", "pw", store);
    assert.equal(await connectionUrlWithSecret("", "", store), "");
    assert.equal(await connectionUrlWithSecret("warehouse", "warehouse", store), "warehouse");
  });

  it("keeps passwords of different connections apart", async () => {
    const store = new MemoryStore();
    await setConnectionPassword("a", "pa", store);
    await setConnectionPassword("b", "pb", store);
    assert.equal(await connectionUrlWithSecret("b", "mysql://u@h/d", store), "mysql://u:pb@h/d");
  });
});
