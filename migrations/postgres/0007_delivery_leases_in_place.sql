-- A claim sets only the lease columns, which no index covers: with room left on each page the
-- update stays on its page (a HOT update) and writes none of the table's eight indexes. Older
-- processes still running during an upgrade are unaffected (the setting changes no column).
ALTER TABLE deliveries SET (fillfactor = 70);
