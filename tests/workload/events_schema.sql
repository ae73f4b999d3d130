-- A busy event table: bigserial key, a time partition key, a TOASTed column on some rows.
CREATE TABLE events (
    id          bigserial PRIMARY KEY,
    ts          timestamptz NOT NULL,
    customer_id integer NOT NULL,
    amount      numeric(12,2) NOT NULL DEFAULT 0,
    status      text NOT NULL DEFAULT 'new',
    big         text,
    payload     jsonb
);
CREATE INDEX events_customer_idx ON events (customer_id);
