-- The bundled demo database: a small shop with typed columns and NULLs.
-- scripts/demo.sh builds examples/demo.db from this file.
CREATE TABLE orders (
  order_id     INTEGER PRIMARY KEY,
  customer_id  INTEGER NOT NULL,
  order_date   DATE NOT NULL,
  total_amount DECIMAL(10,2),
  status       VARCHAR(20),
  is_gift      BOOLEAN,
  updated_at   TIMESTAMP NOT NULL
);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
INSERT INTO orders
SELECT i,
       1000 + (i * 37) % 400,
       date('2025-01-01', '+' || (i % 31) || ' days'),
       CASE WHEN i % 50 = 0 THEN NULL ELSE round(((i * 7919) % 100000) / 100.0, 2) END,
       CASE i % 4 WHEN 0 THEN 'pending' WHEN 1 THEN 'shipped' WHEN 2 THEN 'delivered' ELSE 'returned' END,
       i % 9 = 0,
       strftime('%Y-%m-%d %H:%M:%S', '2025-01-01 00:00:00', '+' || (i * 17) || ' minutes')
FROM n;
