using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Platform.ServiceDefaults.Admission;
using Platform.ServiceDefaults.Auth;
using Platform.ServiceDefaults.Health;

namespace Platform.Tests.Admission;

/// <summary>The door of each route class, on a fake clock: what is admitted, what waits, what is refused, how the limit moves.</summary>
public sealed class AdmissionGateTests
{
    readonly FakeTimeProvider time = new();

    AdmissionGate Gate(int floor = 1, int ceiling = 2, int queue = 0, double waitMs = 0)
    {
        var gate = new AdmissionGate("test", time);
        gate.Configure(floor, ceiling, queue, TimeSpan.FromMilliseconds(waitMs));
        return gate;
    }

    [Fact]
    public async Task Requests_over_the_limit_with_no_room_to_wait_are_refused_at_once()
    {
        var gate = Gate(ceiling: 2, queue: 0);

        Assert.True(gate.TryEnter());
        Assert.True(gate.TryEnter());
        Assert.False(gate.TryEnter());
        Assert.False(await gate.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Equal(2, gate.InFlight);
    }

    [Fact]
    public async Task A_waiting_request_gets_the_slot_a_finished_one_gives_back()
    {
        var gate = Gate(ceiling: 1, queue: 1, waitMs: 1000);
        Assert.True(gate.TryEnter());

        var waiting = gate.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        Assert.False(gate.TryEnter()); // nobody jumps the queue
        Assert.False(await gate.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None)); // the queue holds one
        gate.Exit();

        Assert.True(await waiting);
        Assert.Equal(1, gate.InFlight);
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public async Task A_wait_ends_when_its_budget_runs_out_and_frees_its_place_in_the_queue()
    {
        var gate = Gate(ceiling: 1, queue: 1, waitMs: 100);
        Assert.True(gate.TryEnter());

        var waiting = gate.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.False(await waiting);
        Assert.Equal(0, gate.Queued);
        gate.Exit();
        Assert.True(gate.TryEnter()); // the slot went to nobody who had left
    }

    [Fact]
    public async Task A_caller_that_goes_away_while_waiting_releases_its_place()
    {
        var gate = Gate(ceiling: 1, queue: 1, waitMs: 60_000);
        Assert.True(gate.TryEnter());
        using var caller = new CancellationTokenSource();

        var waiting = gate.WaitAsync(TimeSpan.FromMinutes(1), caller.Token);
        await caller.CancelAsync();

        Assert.False(await waiting);
        Assert.Equal(0, gate.Queued);
        var next = gate.WaitAsync(TimeSpan.FromMinutes(1), CancellationToken.None); // its place is free again
        gate.Exit();
        Assert.True(await next);
    }

    [Fact]
    public void A_wait_never_lasts_longer_than_the_callers_deadline_and_shrinks_under_a_standing_queue()
    {
        var gate = Gate(ceiling: 1, queue: 10, waitMs: 100);
        Assert.True(gate.TryEnter());

        Assert.Equal(TimeSpan.FromMilliseconds(100), gate.WaitBudget(callerLeft: null));
        Assert.Equal(TimeSpan.FromMilliseconds(30), gate.WaitBudget(callerLeft: TimeSpan.FromMilliseconds(30)));

        _ = gate.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(150)); // the queue has not emptied since: it is standing
        Assert.Equal(TimeSpan.FromMilliseconds(10), gate.WaitBudget(callerLeft: null));
    }

    [Fact]
    public void The_limit_shrinks_while_the_process_is_saturated_and_grows_back_while_it_keeps_up()
    {
        var gate = Gate(floor: 4, ceiling: 100, queue: 0);
        for (var i = 0; i < 50; i++)
        {
            Assert.True(gate.TryEnter());
        }

        gate.Adapt(saturated: true);
        Assert.Equal(100, gate.Limit); // one slow probe is not saturation
        gate.Adapt(saturated: true);
        Assert.Equal(45, gate.Limit); // 90 % of what is in flight
        for (var i = 0; i < 20; i++)
        {
            gate.Adapt(saturated: true);
        }
        Assert.Equal(4, gate.Limit); // never below the floor

        gate.Adapt(saturated: false);
        Assert.True(gate.Limit > 4); // in flight (50) is over the limit: it holds requests back, so it grows
        for (var i = 0; i < 100; i++)
        {
            gate.Adapt(saturated: false);
        }
        Assert.True(gate.Limit <= 100);
        var settled = gate.Limit;
        gate.Adapt(saturated: false);
        Assert.Equal(settled, gate.Limit); // not binding any more: stays
    }

    [Fact]
    public void Probes_admin_rpcs_capacity_freeing_work_and_watch_streams_never_meet_a_gate()
    {
        using var services = new ServiceCollection().AddOptions().AddMetrics().BuildServiceProvider();
        var admission = new AdmissionControl(services.GetRequiredService<IOptionsMonitor<AdmissionOptions>>(), time,
            services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), new HostingEnvironment { ApplicationName = "Tests" },
            services.GetRequiredService<IOptionsMonitor<AlertOptions>>());

        HttpContext Call(string path, params object[] metadata)
        {
            var http = new DefaultHttpContext();
            http.Request.Path = path;
            http.SetEndpoint(new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(metadata), path));
            return http;
        }

        Assert.Null(admission.GateFor(Call("/health")));
        Assert.Null(admission.GateFor(Call("/grpc.health.v1.Health/Check")));
        Assert.Null(admission.GateFor(Call("/x.Admin/Reset", new AdminRpcAttribute())));
        Assert.Null(admission.GateFor(Call("/x.Worker/Complete", new NeverShedAttribute())));
        Assert.Equal("default", admission.GateFor(Call("/x.Cache/Get"))?.Name);
        Assert.Equal("chat", admission.GateFor(Call("/v1/chat/completions", new AdmissionClassAttribute("chat")))?.Name);
    }
}
