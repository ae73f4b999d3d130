#!/usr/bin/env bash
# Captures golden pgoutput byte fixtures from a real server into tests/fixtures/pgoutput/.
# Run inside a sandbox:   scripts/pg-sandbox.sh run -- scripts/capture-pgoutput-fixtures.sh
#
# It creates its own database, tables, publication and slots, performs a scripted set of
# changes, and peeks (never consumes) the slots with pg_logical_slot_peek_binary_changes.
# The output format is described in tests/fixtures/pgoutput/README.md; the unit tests in
# tests/unit/pgoutput_decoder_test.cpp assert the values written here, so change both together.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/tests/fixtures/pgoutput}
mkdir -p "$out"
db=ps_fixtures

psql_do() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"

# ---- schema and slot 1 (small changes, captured with proto 1 text and proto 1 binary) ----
psql_do <<'SQL'
CREATE SCHEMA fx;
CREATE TYPE fx.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE fx.items (
    id int PRIMARY KEY,
    name text,
    qty int,
    payload bytea,
    doc jsonb,
    big text,
    mood fx.mood
);
-- EXTERNAL: the big column is stored out of line uncompressed, so an UPDATE that leaves it
-- alone sends it as 'u' (unchanged TOAST).
ALTER TABLE fx.items ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE fx.full_rows (id int, v text);
ALTER TABLE fx.full_rows REPLICA IDENTITY FULL;
CREATE TABLE fx.by_index (a int NOT NULL, b text NOT NULL, c text);
CREATE UNIQUE INDEX by_index_ab ON fx.by_index (a, b);
ALTER TABLE fx.by_index REPLICA IDENTITY USING INDEX by_index_ab;
CREATE TABLE fx.no_ident (id int, v text);
ALTER TABLE fx.no_ident REPLICA IDENTITY NOTHING;
CREATE TABLE fx.trunc_a (id int PRIMARY KEY);
CREATE TABLE fx.trunc_b (id int PRIMARY KEY, a_id int REFERENCES fx.trunc_a);
CREATE TABLE fx.unpublished (id int PRIMARY KEY);
CREATE PUBLICATION pub FOR TABLE fx.items, fx.full_rows, fx.by_index, fx.no_ident,
    fx.trunc_a, fx.trunc_b;
SELECT pg_create_logical_replication_slot('fx_small', 'pgoutput');
SELECT pg_replication_origin_create('fx_origin');
SQL

psql_do <<'SQL'
-- 1: insert with every column kind (the big value is ~10 kB, stored out of line)
INSERT INTO fx.items VALUES (1, 'alpha', 10, '\x00ff10', '{"a": [1, 2]}',
    (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g), 'happy');
-- 2: insert with NULLs
INSERT INTO fx.items (id, name) VALUES (2, 'beta');
-- 3: update not touching the key nor the big column -> no old tuple, big is 'u'
UPDATE fx.items SET qty = 11, name = 'alpha2' WHERE id = 1;
-- 4: update changing the key -> 'K' old tuple (key only), big is 'u'
UPDATE fx.items SET id = 3 WHERE id = 1;
-- 5: delete -> 'K'
DELETE FROM fx.items WHERE id = 2;
-- 6: replica identity full: update and delete carry 'O'
INSERT INTO fx.full_rows VALUES (1, 'one');
UPDATE fx.full_rows SET v = 'uno' WHERE id = 1;
DELETE FROM fx.full_rows WHERE id = 1;
-- 7: replica identity using index: update of a key column -> 'K', delete -> 'K'
INSERT INTO fx.by_index VALUES (1, 'x', 'c1');
UPDATE fx.by_index SET b = 'y' WHERE a = 1;
DELETE FROM fx.by_index WHERE a = 1;
-- 8: replica identity nothing: insert only (update/delete would fail on the source)
INSERT INTO fx.no_ident VALUES (1, 'n');
-- 9: truncate two tables with CASCADE and RESTART IDENTITY -> options 3
INSERT INTO fx.trunc_a VALUES (1);
TRUNCATE fx.trunc_a, fx.trunc_b RESTART IDENTITY CASCADE;
-- 10: a transaction with a transactional logical message and a change
BEGIN;
INSERT INTO fx.items (id, name) VALUES (4, 'gamma');
SELECT pg_logical_emit_message(true, 'partshift.fence', 'fence-1');
COMMIT;
-- 11: a non-transactional message (no Begin/Commit around it)
SELECT pg_logical_emit_message(false, 'partshift.note', '\x0001ff'::bytea);
-- 12: a change on an unpublished table sends nothing
INSERT INTO fx.unpublished VALUES (1);
SQL

# 13: a transaction replayed under a replication origin -> Origin message after Begin
psql_do <<'SQL'
SELECT pg_replication_origin_session_setup('fx_origin');
BEGIN;
SELECT pg_replication_origin_xact_setup('0/ABCDEF', '2024-01-02 03:04:05+00');
INSERT INTO fx.items (id, name) VALUES (5, 'from-origin');
COMMIT;
SELECT pg_replication_origin_session_reset();
SQL

small_end=$(psql_do -At -c "SELECT pg_current_wal_lsn()")

# ---- slot 2 (large transactions, captured with proto 2 streaming) ----
psql_do <<'SQL'
CREATE TABLE fx.bulk (id int PRIMARY KEY, pad text);
ALTER PUBLICATION pub ADD TABLE fx.bulk;
SELECT pg_create_logical_replication_slot('fx_stream', 'pgoutput');
SQL
psql_do <<'SQL'
-- a: a large committed transaction -> streamed in several blocks, then Stream Commit
INSERT INTO fx.bulk SELECT g, repeat('p', 100) FROM generate_series(1, 3000) g;
-- b: a large transaction that streams and then aborts -> Stream Abort (xid = subxid)
BEGIN;
INSERT INTO fx.bulk SELECT g, repeat('q', 100) FROM generate_series(10001, 13000) g;
ROLLBACK;
-- c: a streamed transaction whose subtransaction aborts -> Stream Abort (subxid), then commit
BEGIN;
INSERT INTO fx.bulk SELECT g, repeat('r', 100) FROM generate_series(20001, 22000) g;
SAVEPOINT s1;
INSERT INTO fx.bulk SELECT g, repeat('s', 100) FROM generate_series(30001, 32000) g;
ROLLBACK TO SAVEPOINT s1;
UPDATE fx.bulk SET pad = 'updated' WHERE id = 20001;
COMMIT;
-- d: a small transaction: not streamed, plain Begin/Commit even with streaming on
INSERT INTO fx.bulk VALUES (40001, 'small');
SQL

# Every line: LSN, xid, hex of the message. With thin=1, runs of bulk inserts are thinned out
# (every 50th kept; short inserts are kept) so the fixture stays small; each message decodes on its own, and the
# stream-block structure (S ... E) is kept intact.
peek() {
  local slot=$1 upto=$2 opts=$3 file=$4 thin=$5 prelude=${6:-}
  psql_do -At -F ' ' >"$file" <<SQL
$prelude
WITH c AS (
  SELECT row_number() OVER () AS n, lsn, xid, data
  FROM pg_logical_slot_peek_binary_changes('$slot', $upto, NULL, $opts)
)
SELECT lsn, coalesce(xid::text, '0'), encode(data, 'hex') FROM c
WHERE $thin = 0 OR get_byte(data, 0) <> ascii('I') OR length(data) < 100 OR n % 50 = 0
ORDER BY n;
SQL
  echo "captured $(wc -l <"$file") messages into $file" >&2
}

peek fx_small "'$small_end'" \
  "'proto_version', '1', 'publication_names', 'pub', 'messages', 'true'" "$out/proto1_text.hex" 0
peek fx_small "'$small_end'" \
  "'proto_version', '1', 'publication_names', 'pub', 'messages', 'true', 'binary', 'true'" \
  "$out/proto1_binary.hex" 0
peek fx_stream NULL \
  "'proto_version', '2', 'publication_names', 'pub', 'messages', 'true', 'streaming', 'on'" \
  "$out/proto2_stream.hex" 1 "SET logical_decoding_work_mem = '64kB';"

psql_do -c "SELECT pg_drop_replication_slot('fx_small')" -c "SELECT pg_drop_replication_slot('fx_stream')" >/dev/null
psql -X -q -d postgres -c "DROP DATABASE $db"
