-- issue 7's reference scenario: a plain orders table with two secondary indexes, :rows rows
-- spread over the last 365 days (13 monthly partitions of the target, plus --premake 3).
CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    customer_id integer NOT NULL,
    status      text NOT NULL,
    amount      numeric(12,2) NOT NULL,
    payload     jsonb
);
INSERT INTO orders (created_at, customer_id, status, amount, payload)
SELECT now() - (g % 365) * interval '1 day' - (g % 86400) * interval '1 second',
       g % 10000,
       (ARRAY['new', 'paid', 'shipped', 'delivered'])[1 + g % 4],
       (g % 100000) / 100.0,
       jsonb_build_object('sku', 'SKU-' || (g % 5000), 'qty', 1 + g % 5, 'note', md5(g::text))
FROM generate_series(1, :rows) g;
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_created_idx ON orders (created_at);
VACUUM ANALYZE orders;
