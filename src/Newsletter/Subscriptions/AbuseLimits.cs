using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Newsletter.Subscriptions;

/// <summary>
/// Who a request counts against. Behind a known proxy the client address is the forwarded one
/// (see <c>Web:KnownProxies</c>); an IPv6 client is its /64 (one household or server gets a whole
/// /64 and can pick any address in it); this machine's loopback addresses are one client.
/// </summary>
public static class ClientNetwork
{
    public static string Of(HttpContext http) => Of(http.Connection.RemoteIpAddress);

    public static string Of(IPAddress? address)
    {
        if (address is null)
            return "unknown";
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address))
            return "loopback";
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}

/// <summary>
/// The limit per mailbox: however many networks a request comes from, one address gets at most
/// <c>Subscriptions:AddressRateLimitPermits</c> subscribe requests per <c>AddressRateLimitWindow</c>
/// (subscription bombing sends a victim confirmation mails from many places at once).
/// </summary>
public sealed class AddressLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public AddressLimiter(IOptions<SubscriptionOptions> options)
    {
        var value = options.Value;
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = value.AddressRateLimitPermits, Window = value.AddressRateLimitWindow, QueueLimit = 0 }));
    }

    /// <summary>True when a request for this address key may go ahead.</summary>
    public bool TryAcquire(string addressKey)
    {
        using var lease = _limiter.AttemptAcquire(addressKey);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
