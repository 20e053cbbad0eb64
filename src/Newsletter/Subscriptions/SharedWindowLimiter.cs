using System.Threading.RateLimiting;
using Newsletter.Storage;

namespace Newsletter.Subscriptions;

/// <summary>
/// ASP.NET Core's rate-limiter contract over <see cref="RateLimitStore"/>: on PostgreSQL the
/// subscribe allowance per client is counted in the database, so it is one allowance however many
/// instances the client's requests reach. A database that cannot be asked lets the request through
/// (the resend throttle and confirmation still stand) rather than refusing every visitor.
/// </summary>
internal sealed class SharedWindowLimiter(RateLimitStore store, string key, int permits, TimeSpan window, TimeProvider time, ILogger logger) : RateLimiter
{
    private long _lastUsed = time.GetTimestamp();

    public override TimeSpan? IdleDuration => time.GetElapsedTime(_lastUsed);

    public override RateLimiterStatistics? GetStatistics() => null;

    protected override RateLimitLease AttemptAcquireCore(int permitCount) =>
        AcquireAsyncCore(permitCount, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        _lastUsed = time.GetTimestamp();
        try
        {
            return await store.TryTakeAsync("subscribe:" + key, permits, window, cancellationToken) ? Lease.Granted : Lease.Refused;
        }
        catch (System.Data.Common.DbException exception)
        {
            logger.LogWarning("The shared subscribe limit could not be read, letting the request through: {Reason}", exception.Message);
            return Lease.Granted;
        }
    }

    private sealed class Lease(bool acquired) : RateLimitLease
    {
        public static readonly Lease Granted = new(true);
        public static readonly Lease Refused = new(false);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
