using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Newsletter.Subscriptions;

/// <summary>What a signed link allows; part of the signed payload, so a token for one purpose is useless for another.</summary>
/// For <see cref="MoreLike"/> and <see cref="LessLike"/> the episode is the paper's entry id: the token names reader, paper and vote.
public enum TokenPurpose { Confirm, Unsubscribe, Preferences, MoreLike, LessLike }

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
/// Link tokens, sealed with AES-GCM under a key derived from the link secret: nobody can forge or
/// alter one, and nobody can read one either, so a token reveals neither a subscriber id (the list
/// size) nor anything else. Inside: purpose, subscriber, expiry (Unix seconds, 0 for never: an
/// unsubscribe link in old mail must keep working) and episode (for a confirmation: the pending
/// episode it was minted for, so it dies when the reader leaves and someone subscribes them again).
/// </summary>
/// <remarks>
/// Tokens of the first format (readable payload + "." + HMAC) still verify for unsubscribe and
/// preferences links in mail already sent; a confirmation needs an episode, which they lack.
/// </remarks>
public sealed class LinkTokens(SigningKeys keys, TimeProvider time)
{
    private const byte Version = 2;
    private const int NonceSize = 12, TagSize = 16;
    private static readonly byte[] KeyInfo = "newsletter link tokens v2"u8.ToArray();

    public string Create(TokenPurpose purpose, long subscriberId, DateTimeOffset? expires = null, long episode = 0)
    {
        var plain = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{(int)purpose}.{subscriberId}.{expires?.ToUnixTimeSeconds() ?? 0}.{episode}"));
        var sealedToken = new byte[1 + NonceSize + plain.Length + TagSize];
        sealedToken[0] = Version;
        var nonce = sealedToken.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        Sealer(DeriveKey(keys.All[0])).Encrypt(nonce, plain, sealedToken.AsSpan(1 + NonceSize, plain.Length), sealedToken.AsSpan(1 + NonceSize + plain.Length), sealedToken.AsSpan(0, 1));
        return Base64Url.EncodeToString(sealedToken);
    }

    /// <summary>True only for an untampered, unexpired token of this purpose.</summary>
    public bool TryRead(string? token, TokenPurpose purpose, out long subscriberId) => TryRead(token, purpose, out subscriberId, out _);

    /// <summary>As <see cref="TryRead(string?, TokenPurpose, out long)"/>, with the episode the token was minted for.</summary>
    public bool TryRead(string? token, TokenPurpose purpose, out long subscriberId, out long episode)
    {
        subscriberId = 0;
        episode = 0;
        if (string.IsNullOrEmpty(token) || token.Length > 200)
            return false;
        byte[]? payload = token.Contains('.') ? (purpose == TokenPurpose.Confirm ? null : ReadFirstFormat(token)) : Open(token);
        if (payload is null)
            return false;
        var parts = Encoding.ASCII.GetString(payload).Split('.');
        if (parts.Length is not (3 or 4)
            || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var readPurpose) || readPurpose != (int)purpose
            || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var id)
            || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var expiry)
            || (parts.Length == 4 && !long.TryParse(parts[3], CultureInfo.InvariantCulture, out episode)))
            return false;
        if (expiry != 0 && time.GetUtcNow().ToUnixTimeSeconds() > expiry)
            return false;
        subscriberId = id;
        return true;
    }

    private byte[]? Open(string token)
    {
        byte[] sealedToken;
        try { sealedToken = Base64Url.DecodeFromChars(token); }
        catch (FormatException) { return null; }
        if (sealedToken.Length <= 1 + NonceSize + TagSize || sealedToken[0] != Version)
            return null;
        var cipherLength = sealedToken.Length - 1 - NonceSize - TagSize;
        var plain = new byte[cipherLength];
        foreach (var key in keys.All)
        {
            try
            {
                using var aes = new AesGcm(DeriveKey(key), TagSize);
                aes.Decrypt(sealedToken.AsSpan(1, NonceSize), sealedToken.AsSpan(1 + NonceSize, cipherLength),
                    sealedToken.AsSpan(1 + NonceSize + cipherLength), plain, sealedToken.AsSpan(0, 1));
                return plain;
            }
            catch (AuthenticationTagMismatchException) { }
        }
        return null;
    }

    /// <summary>The first format: <c>base64url(purpose.subscriber.expiry)</c> + "." + <c>base64url(HMAC-SHA256)</c>.</summary>
    private byte[]? ReadFirstFormat(string token)
    {
        var dot = token.IndexOf('.');
        if (dot <= 0)
            return null;
        byte[] payload, signature;
        try
        {
            payload = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
            signature = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return null;
        }
        return keys.All.Any(key => CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, payload), signature)) ? payload : null;
    }

    // A digest carries two links per paper (more / less like this) besides its own: one cipher per thread and key rather
    // than one per token (signing a digest's 60 feedback links: ~220 µs → 175 µs, `BENCH_STAGES=1 ... assemble`). AesGcm is not
    // thread-safe, hence per thread.
    [ThreadStatic]
    private static (byte[] Key, AesGcm Cipher)? _sealer;

    private static AesGcm Sealer(byte[] key)
    {
        if (_sealer is { } kept && ReferenceEquals(kept.Key, key))
            return kept.Cipher;
        _sealer?.Cipher.Dispose();
        var cipher = new AesGcm(key, TagSize);
        _sealer = (key, cipher);
        return cipher;
    }

    // Two tokens per digest: derive each secret's key once, not per token.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<byte[], byte[]> DerivedKeys = new();

    private static byte[] DeriveKey(byte[] secret) =>
        DerivedKeys.GetValue(secret, static key => HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, salt: [], info: KeyInfo));
}
