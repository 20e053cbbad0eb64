using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using MimeKit;
using Newsletter.Delivery;
using Newsletter.Subscriptions;

namespace Newsletter.Bounces;

public enum AddressPurpose { Bounce, Unsubscribe }

/// <summary>
/// The addresses mail comes back to: <c>bounce+TOKEN@ReturnPathDomain</c> as each digest's return
/// path (VERP: the bounce names its delivery, whatever the bouncing server writes), and
/// <c>unsubscribe+TOKEN@ReturnPathDomain</c> as the List-Unsubscribe mailto. A token is one AES
/// block under a key derived from the link secret, holding the id and a fixed check: unforgeable
/// (2^-64), unreadable (no delivery or reader count leaks), lowercase hex because some servers
/// fold the case of a local part.
/// </summary>
public sealed class ReturnPaths(SigningKeys keys, IOptions<BounceOptions> options)
{
    private static readonly byte[] KeyInfo = "newsletter return paths v1"u8.ToArray();

    public bool Enabled => options.Value.Enabled;

    private string Domain => options.Value.ReturnPathDomain!.Trim().TrimEnd('.').ToLowerInvariant();

    public string Address(AddressPurpose purpose, long id) => $"{Prefix(purpose)}+{Seal(purpose, id, keys.All[0])}@{Domain}";

    /// <summary>Gives a digest its VERP return path and the mailto unsubscribe beside the one-click link.</summary>
    public void Apply(MimeMessage message, long deliveryId, long subscriberId)
    {
        if (!Enabled)
            return;
        Envelope.SetReturnPath(message, Address(AddressPurpose.Bounce, deliveryId));
        if (message.Headers["List-Unsubscribe"] is { Length: > 0 } unsubscribe)
            message.Headers["List-Unsubscribe"] = $"{unsubscribe}, <mailto:{Address(AddressPurpose.Unsubscribe, subscriberId)}?subject=unsubscribe>";
    }

    /// <summary>Reads an address of ours back: its purpose and id, or false for anything else (forged, altered, foreign).</summary>
    public bool TryRead(string? address, out AddressPurpose purpose, out long id)
    {
        purpose = default;
        id = 0;
        if (string.IsNullOrEmpty(address) || address.Length > 200)
            return false;
        var at = address.LastIndexOf('@');
        var plus = address.IndexOf('+');
        if (at < 0 || plus < 0 || plus > at || !address[(at + 1)..].Equals(Domain, StringComparison.OrdinalIgnoreCase))
            return false;
        var prefix = address[..plus].ToLowerInvariant();
        AddressPurpose? read = prefix == Prefix(AddressPurpose.Bounce) ? AddressPurpose.Bounce : prefix == Prefix(AddressPurpose.Unsubscribe) ? AddressPurpose.Unsubscribe : null;
        if (read is null)
            return false;
        var token = address[(plus + 1)..at];
        foreach (var key in keys.All)
            if (Open(read.Value, token, key) is { } opened)
            {
                (purpose, id) = (read.Value, opened);
                return true;
            }
        return false;
    }

    private static string Prefix(AddressPurpose purpose) => purpose == AddressPurpose.Bounce ? "bounce" : "unsubscribe";

    private static string Seal(AddressPurpose purpose, long id, byte[] secret)
    {
        Span<byte> block = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(block, id);
        Check(purpose).CopyTo(block[8..]);
        using var aes = Aes.Create();
        aes.Key = DeriveKey(secret);
        return Convert.ToHexStringLower(aes.EncryptEcb(block, PaddingMode.None));
    }

    private static long? Open(AddressPurpose purpose, string token, byte[] secret)
    {
        if (token.Length != 32)
            return null;
        byte[] cipher;
        try { cipher = Convert.FromHexString(token); }
        catch (FormatException) { return null; }
        using var aes = Aes.Create();
        aes.Key = DeriveKey(secret);
        var block = aes.DecryptEcb(cipher, PaddingMode.None);
        return block.AsSpan(8).SequenceEqual(Check(purpose)) ? BinaryPrimitives.ReadInt64BigEndian(block) : null;
    }

    // A single block of AES is a pseudorandom permutation: ECB is right here (one block, never two).
    private static byte[] Check(AddressPurpose purpose) => purpose == AddressPurpose.Bounce ? "VERP-v1b"u8.ToArray() : "VERP-v1u"u8.ToArray();

    private static byte[] DeriveKey(byte[] secret) => HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, info: KeyInfo);
}
