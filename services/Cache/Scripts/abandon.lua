-- Gives a lease back. KEYS[1]: lease. ARGV[1]: token. Returns 1 when the token held the lease.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
