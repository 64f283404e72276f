using System.Reflection;
using Platform.AudioQueue;
using Platform.Cache;
using Platform.RateLimit;
using Platform.Tests.Support;
using StackExchange.Redis;

namespace Platform.Tests;

/// <summary>
/// The key layouts that let every script run on a Redis Cluster: the keys one script (or one multi-key
/// command) touches share one hash slot, whatever callers put in their names, braces included. Slots as
/// the cluster itself computes them (CLUSTER KEYSLOT).
/// </summary>
public sealed class ClusterKeySlotTests(RedisClusterFixture cluster) : IClassFixture<RedisClusterFixture>
{
    static readonly string[] Names = ["k", "user:7", "a}b", "{x}", "}", "{", "}{", "ключ"];

    async Task<long[]> SlotsAsync(IEnumerable<RedisKey> keys)
    {
        cluster.RequireAvailable();
        return await Task.WhenAll(keys.Select(async key => (long)await cluster.Database.ExecuteAsync("CLUSTER", "KEYSLOT", (string)key!)));
    }

    [Fact]
    public async Task Every_policy_and_algorithm_of_one_rate_limit_key_shares_a_slot()
    {
        foreach (var name in Names)
        {
            var key = Platform.ServiceDefaults.Auth.Caller.Scope("team-a", name);
            var slots = await SlotsAsync(
                from policy in new[] { "chat", "chat-tokens" }
                from algorithm in Enum.GetValues<RateLimitAlgorithm>()
                select RedisRateLimiter.StateKey(policy, key, algorithm));

            Assert.Single(slots.Distinct());
        }
    }

    [Fact]
    public async Task A_cache_entry_and_its_lease_share_a_slot_and_so_do_a_namespaces_own_keys()
    {
        const string ns = "team-a/chat";
        foreach (var name in Names)
        {
            Assert.Single((await SlotsAsync([CacheKeys.Entry(ns, name), CacheKeys.Lease(ns, name)])).Distinct());
        }
        var namespaceSlots = await SlotsAsync([CacheKeys.Index(ns), CacheKeys.Sizes(ns), CacheKeys.Tags(ns), CacheKeys.TagsByTime(ns), CacheKeys.Stats(ns)]);

        Assert.Single(namespaceSlots.Distinct());
    }

    [Fact]
    public async Task Every_queue_key_shares_one_slot_including_the_job_keys_lease_lua_derives_from_ids()
    {
        var fixedKeys = typeof(QueueKeys).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(field => field.FieldType == typeof(RedisKey))
            .Select(field => (RedisKey)field.GetValue(null)!);
        var perJob = Names.SelectMany(id => new[] { QueueKeys.Job(id), QueueKeys.Audio(id), QueueKeys.Output(id), QueueKeys.Idempotency("team-a/t", id) });
        // lease.lua builds job and audio keys from these prefixes and the ids it finds.
        RedisKey[] prefixed = [QueueKeys.JobPrefix + "any-id", QueueKeys.AudioPrefix + "any-id"];

        var slots = await SlotsAsync([.. fixedKeys, .. perJob, .. prefixed]);

        Assert.True(fixedKeys.Count() >= 14, "the reflection found the queue's keys");
        Assert.Single(slots.Distinct());
    }
}
