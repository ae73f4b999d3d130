#!/bin/bash
# item 7 by hand: $1 = partshift binary
B=$1; D=dbname=i7; S=/tmp/swapc-exp/sp7-$$; H=/tmp/swapc-exp/hooks-$$
createdb i7
psql -X -q i7 -c "create table events(id bigint primary key, ts timestamptz not null, v int); insert into events select g, now() - g * interval '1 hour', 0 from generate_series(1,2000) g"
st() { $B status --dsn $D --job events --json 2>/dev/null | grep -o '"cutover_state":"[^"]*"\|"phase":"[^"]*"' | tr '\n' ' '; }
waitfor() { for i in $(seq 1 120); do st | grep -q "$1" && return 0; sleep 1; done; echo "TIMEOUT waiting for $1"; }
req() { psql -X -A -t i7 -c "select cutover_requested from partshift.jobs where job='events'"; }
rk() { psql -X -A -t i7 -c "select relkind from pg_class where oid='events'::regclass"; }
if [ -z "${SKIP_A:-}" ]; then
$B run --dsn $D --table events --partition-by range --key ts --interval '1 month' --spool-dir $S --dry-run > /tmp/swapc-exp/i7-dry.log 2>&1 &
DRY=$!
waitfor '"phase":"follow"'
$B cutover --dsn $D --job events --no-wait; echo "A1 cutover against dry run: exit $? ; requested=$(req)"
kill -TERM $DRY; wait $DRY
psql -X -q i7 -c "update partshift.jobs set cutover_requested = true"
$B run --dsn $D --table events --partition-by range --key ts --interval '1 month' --spool-dir $S --postpone-cutover > /tmp/swapc-exp/i7-post.log 2>&1 &
RUN=$!
sleep 15
echo "A2 postponed run 15 s after start, older request: relkind=$(rk) requested=$(req) state=$(st)"
kill -TERM $RUN 2>/dev/null; wait $RUN
fi
# Ctrl-C on a waiting cutover, the request kept pending by a before-cutover hook
mkdir -p $H; printf '#!/bin/sh\n[ -e %s/allow ] && exit 0\necho not yet; exit 1\n' $H > $H/before-cutover; chmod 755 $H/before-cutover
if [ "$(rk)" = "r" ]; then
$B run --dsn $D --table events --partition-by range --key ts --interval '1 month' --spool-dir $S --postpone-cutover --hooks-dir $H > /tmp/swapc-exp/i7-hook.log 2>&1 &
RUN=$!
waitfor 'waiting for cutover'
$B cutover --dsn $D --job events > /tmp/swapc-exp/i7-cut.log 2>&1 &
CUT=$!
waitfor 'postponed by the before-cutover hook'
kill -INT $CUT; wait $CUT; echo "A3 Ctrl-C on waiting cutover: exit $? ; requested=$(req); $(tail -1 /tmp/swapc-exp/i7-cut.log)"
touch $H/allow; sleep 13
echo "A4 hook allows now, 13 s later: relkind=$(rk)"
rm -f $H/allow
if [ "$(rk)" = "r" ]; then
  $B cutover --dsn $D --job events --no-wait; waitfor 'postponed by the before-cutover hook'
  kill -TERM $RUN; wait $RUN
  echo "A5 run stopped with a pending request: requested=$(req)"
fi
kill -TERM $RUN 2>/dev/null; wait $RUN 2>/dev/null
fi
rm -rf $H $S
