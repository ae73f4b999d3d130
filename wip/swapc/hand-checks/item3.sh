#!/bin/bash
B=$1; D=dbname=i3; S=/tmp/swapc-exp/sp3-$$
createdb i3
psql -X -q i3 -c "create table orders(id bigint primary key, ts timestamptz not null, v text); insert into orders select g, now() - g * interval '1 hour', 'v' from generate_series(1,1000) g; create table t2(id bigint primary key, ts timestamptz not null); insert into t2 values (1, now()); create table t2_old (x int)"
R="$B run --dsn $D --partition-by range --key ts --interval 1month --spool-dir $S"
R="$B run --dsn $D --spool-dir $S"
RANGE="--partition-by range --key ts --interval 1month"
$R --table orders $RANGE >/dev/null 2>&1; echo "B1 first run: exit $?"
$R --table orders $RANGE 2>&1 | tail -1 | cut -c1-100; echo "B2 same again: exit ${PIPESTATUS[0]}"
out=$($R --table orders --partition-by hash --key id --modulus 4 2>&1); echo "B3 other options: exit $? : $(echo "$out" | tail -1 | cut -c1-160)"
psql -X -q i3 -c "create schema s2; create table s2.orders (id bigint primary key, ts timestamptz not null); insert into s2.orders values (1, now())"
out=$($R --table s2.orders $RANGE 2>&1); echo "B4 other table same default name: exit $? : $(echo "$out" | tail -1 | cut -c1-160)"
out=$($R --table orders --job orders2 --partition-by hash --key id --modulus 4 2>&1); echo "B5 re-partition, orders_old taken: exit $? : $(echo "$out" | tail -1 | cut -c1-200)"
out=$($R --table t2 $RANGE --dry-run --dry-run-for 500ms 2>&1); echo "B6 t2_old taken, new job: exit $? : $(echo "$out" | tail -1 | cut -c1-200)"
$R --table t2 $RANGE --dry-run --dry-run-for 500ms --old-name t2_prev >/dev/null 2>&1 || $R --table t2 $RANGE --dry-run --dry-run-for 500ms --old-name t2_prev >/dev/null 2>&1
psql -X -q i3 -c "create table t2_prev (x int)"
out=$($R --table t2 $RANGE --old-name t2_keep 2>&1); echo "B7 resumed with a new --old-name: exit $? : $(echo "$out" | tail -1 | cut -c1-200)"
psql -X -A -t i3 -c "select 'relkinds', (select relkind from pg_class where relname='t2'), (select relkind from pg_class where relname='t2_keep')"
rm -rf $S
