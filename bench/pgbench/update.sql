-- One durable single-row UPDATE (synchronous_commit on): the floor of any write route.
\set id random(:minid, :maxid)
UPDATE agents SET last_ping_at = :now WHERE id = :id;
