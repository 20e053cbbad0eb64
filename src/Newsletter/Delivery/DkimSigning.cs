using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Cryptography;
using Newsletter.Configuration;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;

namespace Newsletter.Delivery;

/// <summary>
/// Signs outgoing mail with DKIM, relaxed/relaxed: rsa-sha256 for an RSA key, ed25519-sha256
/// (through MimeKit's <see cref="DkimSigner"/>) for an Ed25519 one. Every message is signed as it
/// is handed to the transport, after the renderer spliced in the reader's links, so each signature
/// covers exactly what that reader gets; the List-Unsubscribe pair is signed (RFC 8058 §4), so
/// nobody on the way can swap the link.
/// </summary>
/// <remarks>
/// RSA goes through <see cref="DkimRelaxed"/>, which makes the same signature as MimeKit's signer
/// at a fraction of its cost (measured: README, DKIM). The body hash cannot be shared between
/// readers: each body carries that reader's own links.
/// </remarks>
public sealed class DkimSigning(IOptions<DkimOptions> options, TimeProvider time)
{
    /// <summary>
    /// What each signature covers (RFC 6376 §5.4, RFC 8058 §4 for the unsubscribe pair). A header
    /// a message lacks (List-Id on a confirmation mail) is signed as absent, so it cannot be added later.
    /// </summary>
    public static readonly string[] SignedHeaders =
    [
        "From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
        "MIME-Version", "Content-Type", "Reply-To",
    ];

    private readonly Lazy<Action<MimeMessage>> _sign = new(() => Create(options.Value, time));

    public bool Enabled => options.Value.Enabled;

    /// <summary>Adds the DKIM-Signature header. The body must not change after this (MailKit sends 8-bit parts as they are to a relay with 8BITMIME).</summary>
    public void Sign(MimeMessage message)
    {
        // Encode as the transport will, before hashing: what is hashed must be what goes out.
        message.Prepare(EncodingConstraint.EightBit);
        _sign.Value(message);
    }

    /// <summary>The DNS TXT record to publish for the configured key.</summary>
    public string DnsRecord() => DkimKeys.DnsRecord(options.Value.Selector!, options.Value.Domain!, DkimKeys.Load(options.Value));

    internal static string KeyPath(DkimOptions options) => PathResolver.FromCurrentDirectory(options.PrivateKeyPath!);

    private static Action<MimeMessage> Create(DkimOptions options, TimeProvider time)
    {
        var key = DkimKeys.Load(options);
        var (domain, selector) = (options.Domain!.Trim(), options.Selector!.Trim());
        if (key is RsaPrivateCrtKeyParameters rsa)
        {
            var parameters = Org.BouncyCastle.Security.DotNetUtilities.ToRSAParameters(rsa);
            // One RSA object per thread: an instance is not documented as safe for concurrent use.
            var perThread = new ThreadLocal<RSA>(() => { var r = RSA.Create(); r.ImportParameters(parameters); return r; });
            return new DkimRelaxed(domain, selector, SignedHeaders, time, () => perThread.Value!).Sign;
        }
        var signer = MimeKitSigner(key, domain, selector, time);
        return message => signer.Sign(message, SignedHeaders);
    }

    /// <summary>MimeKit's own signer, relaxed/relaxed, on our clock: for Ed25519 keys, and the reference the RSA path is tested against.</summary>
    internal static DkimSigner MimeKitSigner(AsymmetricKeyParameter key, string domain, string selector, TimeProvider time) =>
        new ClockedDkimSigner(key, domain, selector, time)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };

    private sealed class ClockedDkimSigner(AsymmetricKeyParameter key, string domain, string selector, TimeProvider time)
        : DkimSigner(key, domain, selector, key is Ed25519PrivateKeyParameters ? DkimSignatureAlgorithm.Ed25519Sha256 : DkimSignatureAlgorithm.RsaSha256)
    {
        protected override long GetTimestamp() => time.GetUtcNow().ToUnixTimeSeconds();
    }
}

/// <summary>Reading a DKIM private key and the public half for DNS.</summary>
public static class DkimKeys
{
    /// <summary>The configured key: the PEM text of <c>Dkim:PrivateKey</c>, else the file <c>Dkim:PrivateKeyPath</c>.</summary>
    public static AsymmetricKeyParameter Load(DkimOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.PrivateKey))
            return Load(DkimSigning.KeyPath(options));
        using var reader = new StringReader(options.PrivateKey);
        return Load(reader);
    }

    /// <summary>The private key in a PEM file (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY"); throws <see cref="FormatException"/> or an IO exception with the reason.</summary>
    public static AsymmetricKeyParameter Load(string path)
    {
        using var reader = new StreamReader(path);
        return Load(reader);
    }

    /// <inheritdoc cref="Load(string)"/>
    public static AsymmetricKeyParameter Load(TextReader reader)
    {
        object? read;
        try
        {
            read = new Org.BouncyCastle.OpenSsl.PemReader(reader).ReadObject();
        }
        catch (Exception exception) when (exception is IOException or InvalidCastException or ArgumentException or Org.BouncyCastle.Security.SecurityUtilityException)
        {
            throw new FormatException($"it is not a PEM private key ({exception.Message})", exception);
        }
        var key = read switch
        {
            AsymmetricCipherKeyPair pair => pair.Private,
            AsymmetricKeyParameter parameter => parameter,
            _ => null,
        };
        if (key is null || !key.IsPrivate)
            throw new FormatException("it holds no private key (a PEM 'PRIVATE KEY' or 'RSA PRIVATE KEY' block is needed; a public key or certificate is not enough)");
        return key switch
        {
            RsaPrivateCrtKeyParameters rsa when rsa.Modulus.BitLength < 1024 =>
                throw new FormatException($"its RSA key has {rsa.Modulus.BitLength} bits; receivers ignore DKIM keys under 1024 bits (use 2048)"),
            RsaPrivateCrtKeyParameters or Ed25519PrivateKeyParameters => key,
            _ => throw new FormatException($"it holds a {key.GetType().Name.Replace("PrivateKeyParameters", "")} key; DKIM signs with RSA or Ed25519"),
        };
    }

    /// <summary>The TXT record: name, then the value in strings of at most 255 characters (RFC 1035 character-strings).</summary>
    public static string DnsRecord(string selector, string domain, AsymmetricKeyParameter privateKey)
    {
        var (kind, publicKey) = privateKey switch
        {
            Ed25519PrivateKeyParameters ed => ("ed25519", Convert.ToBase64String(ed.GeneratePublicKey().GetEncoded())),
            RsaPrivateCrtKeyParameters rsa => ("rsa", Convert.ToBase64String(
                Org.BouncyCastle.X509.SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(new RsaKeyParameters(false, rsa.Modulus, rsa.PublicExponent)).GetDerEncoded())),
            _ => throw new FormatException("not an RSA or Ed25519 key"),
        };
        var value = $"v=DKIM1; k={kind}; p={publicKey}";
        var strings = Enumerable.Range(0, (value.Length + 254) / 255).Select(i => "\"" + value.Substring(i * 255, Math.Min(255, value.Length - i * 255)) + "\"");
        return $"{selector.Trim()}._domainkey.{domain.Trim().TrimEnd('.')}. IN TXT ( {string.Join(" ", strings)} )";
    }
}

/// <summary>A DKIM key that cannot be read stops start-up with one sentence naming it.</summary>
internal sealed class DkimKeyRequirement : IStartupRequirement
{
    public IEnumerable<string> Problems(IConfiguration configuration)
    {
        var options = configuration.GetSection(DkimOptions.Section).Get<DkimOptions>() ?? new DkimOptions();
        var (hasPath, hasKey) = (!string.IsNullOrWhiteSpace(options.PrivateKeyPath), !string.IsNullOrWhiteSpace(options.PrivateKey));
        if (!options.Enabled || hasPath == hasKey)
            yield break; // DkimOptionsValidator names what is missing or given twice
        string? problem = null;
        try
        {
            DkimKeys.Load(options);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
        {
            problem = exception is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : exception.Message;
        }
        // The PEM text is a secret: the sentence names the key, never its value.
        if (problem is not null)
            yield return hasKey
                ? $"{DkimOptions.Section}:PrivateKey: the DKIM key given as PEM text (from the secrets folder, Newsletter__Dkim__PrivateKey, or the configuration) cannot be used: {problem}."
                : $"{DkimOptions.Section}:PrivateKeyPath: the DKIM key '{DkimSigning.KeyPath(options)}' cannot be used: {problem}.";
    }
}

/// <summary>A transport whose every message is DKIM-signed just before it is handed over.</summary>
internal sealed class SigningTransport(IMailTransport inner, DkimSigning dkim) : IMailTransport
{
    public int MaxSenders => inner.MaxSenders;

    public string Describe() => $"{inner.Describe()}, DKIM-signed";

    public async Task<IMailSender> ConnectAsync(CancellationToken cancellationToken) =>
        new Sender(await inner.ConnectAsync(cancellationToken), dkim);

    private sealed class Sender(IMailSender inner, DkimSigning dkim) : IMailSender
    {
        public bool IsUsable => inner.IsUsable;

        public Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
        {
            // A retry of the same message object must not carry two signatures.
            message.Headers.RemoveAll(HeaderId.DkimSignature);
            dkim.Sign(message);
            return inner.SendAsync(message, cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
