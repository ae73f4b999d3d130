#!/bin/bash
B=$1; D=dbname=i10; S=/tmp/swapc-exp/sp10-$$
createdb i10
psql -X -q i10 -c "create table events(id bigint primary key, ts timestamptz not null, v int); insert into events select g, now() - g * interval '1 hour', 0 from generate_series(1,2000) g"
R="$B run --dsn $D --spool-dir $S --table events --partition-by range --key ts --interval 1month"
$R --revert-window 10m > /tmp/swapc-exp/i10-run.log 2>&1 &
RUN=$!
for i in $(seq 1 120); do $B status --dsn $D --job events --json 2>/dev/null | grep -q '"reverse_running":true' && break; sleep 1; done
$B revert --dsn $D --job events 2>&1 | tail -1 | cut -c1-120; wait $RUN; echo "run exit $?"
out=$($R 2>&1); echo "C1 same run after revert: exit $? : $(echo "$out" | tail -1)"
out=$($R --job events2 2>&1); echo "C2 new job: exit $? : $(echo "$out" | tail -1)"
psql -X -q i10 -c "drop table events_partitioned"
out=$($R --job events2 2>&1); echo "C3 after the drop: exit $? : $(echo "$out" | tail -1 | cut -c1-120)"
rm -rf $S
