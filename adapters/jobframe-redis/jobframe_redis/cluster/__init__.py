"""jobframe on a Redis Cluster: `RedisClusterAdapter` (adapter name ``redis-cluster``, URL
``redis+cluster://host:port[,host:port...]``), one hash tag and so one slot per queue."""
