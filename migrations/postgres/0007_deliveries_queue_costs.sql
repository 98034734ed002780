-- What a delivery costs on its way through the queue.
--
-- A claim sets only the lease columns, which no index covers: with room left on each page the
-- update stays on its page (a HOT update) and writes none of the table's eight indexes.
ALTER TABLE deliveries SET (fillfactor = 70);

-- The context is written once and read back whole, never queried inside: kept as the JSON text
-- it was written as, it is neither converted to jsonb on the way in nor back to text on each
-- claim.
ALTER TABLE deliveries ALTER COLUMN context TYPE text USING context::text;
