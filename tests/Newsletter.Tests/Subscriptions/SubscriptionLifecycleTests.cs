using Microsoft.Extensions.Time.Testing;
using Newsletter.Model;
using Newsletter.Subscriptions;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Subscriptions;

/// <summary>Time-dependent subscription rules, against the real store with a fake clock.</summary>
public sealed class SubscriptionLifecycleTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 9, 8, 12, 0, 0, TimeSpan.Zero));
    private readonly TestHost _host = new();
    private SubscriberStore _store = null!;
    private static readonly TimeSpan Resend = TimeSpan.FromHours(24);

    public async ValueTask InitializeAsync()
    {
        var app = _host.Build(["collect"], _time);
        await app.Services.GetRequiredService<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None);
        _store = app.Services.GetRequiredService<SubscriberStore>();
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static EmailAddress Address(string email) => EmailAddress.TryParse(email, out var a, out _) ? a! : throw new ArgumentException(email);

    [Fact]
    public async Task SubscribingAgainWhilePendingResendsTheConfirmationAtMostOnceADay()
    {
        var first = await _store.RequestSubscriptionAsync(Address("ada@example.org"), Preferences.None, Resend, CancellationToken.None);
        var soon = await _store.RequestSubscriptionAsync(Address("ada@example.org"), Preferences.None, Resend, CancellationToken.None);
        _time.Advance(TimeSpan.FromHours(23));
        var stillTooSoon = await _store.RequestSubscriptionAsync(Address("ada@example.org"), Preferences.None, Resend, CancellationToken.None);
        _time.Advance(TimeSpan.FromHours(2));
        var nextDay = await _store.RequestSubscriptionAsync(Address("ada@example.org"), Preferences.None, Resend, CancellationToken.None);

        Assert.Equal([true, false, false, true], new[] { first.SendConfirmation, soon.SendConfirmation, stillTooSoon.SendConfirmation, nextDay.SendConfirmation });
        Assert.Equal(first.Id, nextDay.Id);
    }

    [Fact]
    public async Task ActiveSubscribersAreLeftAlone()
    {
        var (id, _) = await _store.RequestSubscriptionAsync(Address("ada@example.org"), Preferences.None, Resend, CancellationToken.None);
        await ConfirmAsync(id);

        var again = await _store.RequestSubscriptionAsync(Address("ada@example.org"), new Preferences { Topics = ["cs.AI"] }, Resend, CancellationToken.None);

        Assert.False(again.SendConfirmation);
        Assert.Equal(SubscriberStatus.Active, (await _store.FindAsync(id, CancellationToken.None))!.Status);
        Assert.Empty((await _store.FindAsync(id, CancellationToken.None))!.Preferences.Topics);
    }

    [Fact]
    public async Task ResubscribingAfterUnsubscribingNeedsConfirmationAgain()
    {
        var (id, _) = await _store.RequestSubscriptionAsync(Address("ada@example.org"), Preferences.None, Resend, CancellationToken.None);
        await ConfirmAsync(id);
        await _store.UnsubscribeAsync(id, CancellationToken.None);

        var again = await _store.RequestSubscriptionAsync(Address("ada@example.org"), Preferences.None, Resend, CancellationToken.None);

        Assert.True(again.SendConfirmation);
        Assert.Equal(SubscriberStatus.Pending, (await _store.FindAsync(id, CancellationToken.None))!.Status);
        Assert.True(await ConfirmAsync(id));
    }

    [Fact]
    public async Task UnconfirmedSubscribersArePurgedAfterTheConfirmationLifetime()
    {
        var (stale, _) = await _store.RequestSubscriptionAsync(Address("stale@example.org"), Preferences.None, Resend, CancellationToken.None);
        _time.Advance(TimeSpan.FromDays(6));
        var (fresh, _) = await _store.RequestSubscriptionAsync(Address("fresh@example.org"), Preferences.None, Resend, CancellationToken.None);
        var (active, _) = await _store.RequestSubscriptionAsync(Address("active@example.org"), Preferences.None, Resend, CancellationToken.None);
        await ConfirmAsync(active);
        _time.Advance(TimeSpan.FromDays(1.5));

        var purged = await _store.PurgeUnconfirmedAsync(_time.GetUtcNow() - TimeSpan.FromDays(7), CancellationToken.None);

        Assert.Equal(1, purged);
        Assert.Null(await _store.FindAsync(stale, CancellationToken.None));
        Assert.NotNull(await _store.FindAsync(fresh, CancellationToken.None));
        Assert.NotNull(await _store.FindAsync(active, CancellationToken.None));
    }

    /// <summary>Confirms with the current episode, as the link in the latest confirmation mail would.</summary>
    private async Task<bool> ConfirmAsync(long id) =>
        await _store.ConfirmAsync(id, (await _store.FindAsync(id, CancellationToken.None))!.PendingSince ?? 0, CancellationToken.None);

    [Fact]
    public async Task AConfirmationFromAnEarlierEpisodeCannotActivateAReSubscribedReader()
    {
        var (id, _) = await _store.RequestSubscriptionAsync(Address("ada@example.org"), Preferences.None, Resend, CancellationToken.None);
        var firstEpisode = (await _store.FindAsync(id, CancellationToken.None))!.PendingSince!.Value;
        Assert.True(await _store.ConfirmAsync(id, firstEpisode, CancellationToken.None));
        Assert.True(await _store.ConfirmAsync(id, firstEpisode, CancellationToken.None)); // a second click: still fine
        await _store.UnsubscribeAsync(id, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));

        await _store.RequestSubscriptionAsync(Address("ada@example.org"), Preferences.None, Resend, CancellationToken.None); // a stranger

        Assert.False(await _store.ConfirmAsync(id, firstEpisode, CancellationToken.None));
        Assert.Equal(SubscriberStatus.Pending, (await _store.FindAsync(id, CancellationToken.None))!.Status);
    }
}
