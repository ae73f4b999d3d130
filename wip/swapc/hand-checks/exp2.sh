#!/bin/bash
set -u
B=/work/wt-arch-migrate2/build/partshift
createdb exp
psql -X -q exp -c "create table events(id bigint primary key, ts timestamptz not null, v int); insert into events select g, now() - g * interval '1 hour', 0 from generate_series(1,1000) g"
coproc T { psql -X -q -A -t exp 2>&1; }
say() { echo "$1" >&${T[1]}; sleep 0.5; }
say "BEGIN ISOLATION LEVEL REPEATABLE READ;"
say "SELECT 'snap', count(*) FROM pg_class;"
rm -rf /tmp/swapc-exp/spool; mkdir -p /tmp/swapc-exp/spool
$B run --dsn dbname=exp --table events --partition-by range --key ts --interval '1 month' --postpone-cutover --spool-dir /tmp/swapc-exp/spool > /tmp/swapc-exp/run.log 2>&1 &
RUN=$!
for i in $(seq 1 120); do
  $B status --dsn dbname=exp --job events --json 2>/dev/null | grep -q '"cutover_state":"waiting for cutover"' && break
  sleep 1
done
psql -X -q exp -c "insert into events values (5000, now(), 7); update events set v = 9 where id = 2"; psql -X -q exp -c "vacuum"
sleep 2
$B cutover --dsn dbname=exp --job events
say "SELECT 'T sees events', count(*), sum(v), (select relkind from pg_class where oid='events'::regclass) FROM events;"
say "SELECT 'T sees events_old', count(*), sum(v) FROM events_old;"
say "UPDATE events SET v = v + 100 WHERE id = 1;"

say "DELETE FROM events WHERE id = 3;"
say "INSERT INTO events VALUES (6000, now(), 1);"
say "COMMIT;"
sleep 1
echo "--- T output:"; timeout 2 cat <&${T[0]}
echo "--- after:"
psql -X -q -A exp -c "select 'events', id, v from events where id in (1,2,5000,6000) order by id" -c "select 'old', id, v from events_old where id in (1,2,5000,6000) order by id"
wait $RUN; echo "run exit $?"
