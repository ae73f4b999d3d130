-- :rows rows spread over the last 170 days; every 50th row carries ~10 kB of
-- incompressible text, stored out of line (TOAST), so untouched updates send it as 'u'.
INSERT INTO events (ts, customer_id, amount, status, big, payload)
SELECT now() - (g % 170) * interval '1 day' - (g % 86400) * interval '1 second',
       g % 1000,
       (g % 10000) / 100.0,
       (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
       CASE WHEN g % 50 = 0 THEN
         (SELECT string_agg(md5(random()::text || g::text || i::text), '') FROM generate_series(1, 320) i)
       END,
       jsonb_build_object('g', g, 'tag', 'x' || (g % 7))
FROM generate_series(1, :rows) g;
ANALYZE events;
