-- SQLite's users became a table without rowid (its listing by id searched
-- the table for every row); PostgreSQL's heap and index stay as they are.
SELECT 1;
