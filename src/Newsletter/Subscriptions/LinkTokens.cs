using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Newsletter.Subscriptions;

/// <summary>What a signed link allows; part of the signed payload, so a token for one purpose is useless for another.</summary>
public enum TokenPurpose { Confirm, Unsubscribe, Preferences }

/// <summary>The HMAC keys: the current one signs, previous ones still verify during a rotation.</summary>
public sealed class SigningKeys
{
    private byte[][] _keys = [];

    public bool IsLoaded => _keys.Length > 0;

    public IReadOnlyList<byte[]> All => IsLoaded ? _keys : throw new InvalidOperationException("signing keys are not loaded yet");

    public void Load(string current, IEnumerable<string> previous) =>
        _keys = [Encoding.UTF8.GetBytes(current), .. previous.Where(p => !string.IsNullOrEmpty(p)).Select(Encoding.UTF8.GetBytes)];
}

/// <summary>
/// Signed link tokens: <c>base64url(purpose.subscriber.expiry)</c> + "." + <c>base64url(HMAC-SHA256)</c>.
/// Expiry is Unix seconds, 0 for never (unsubscribe links in old mail must keep working).
/// </summary>
public sealed class LinkTokens(SigningKeys keys, TimeProvider time)
{
    public string Create(TokenPurpose purpose, long subscriberId, DateTimeOffset? expires = null)
    {
        var payload = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{(int)purpose}.{subscriberId}.{expires?.ToUnixTimeSeconds() ?? 0}"));
        return Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(Sign(keys.All[0], payload));
    }

    /// <summary>True only for an untampered, unexpired token of this purpose.</summary>
    public bool TryRead(string? token, TokenPurpose purpose, out long subscriberId)
    {
        subscriberId = 0;
        if (string.IsNullOrEmpty(token) || token.Length > 200)
            return false;
        var dot = token.IndexOf('.');
        if (dot <= 0)
            return false;
        byte[] payload, signature;
        try
        {
            payload = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
            signature = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return false;
        }
        if (!keys.All.Any(key => CryptographicOperations.FixedTimeEquals(Sign(key, payload), signature)))
            return false;
        var parts = Encoding.ASCII.GetString(payload).Split('.');
        if (parts.Length != 3
            || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var readPurpose) || readPurpose != (int)purpose
            || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var id)
            || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var expiry))
            return false;
        if (expiry != 0 && time.GetUtcNow().ToUnixTimeSeconds() > expiry)
            return false;
        subscriberId = id;
        return true;
    }

    private static byte[] Sign(byte[] key, byte[] payload) => HMACSHA256.HashData(key, payload);
}
