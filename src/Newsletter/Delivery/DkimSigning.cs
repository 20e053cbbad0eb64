using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Cryptography;
using Newsletter.Configuration;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;

namespace Newsletter.Delivery;

/// <summary>
/// Signs outgoing mail with MimeKit's <see cref="DkimSigner"/> (relaxed/relaxed; rsa-sha256 or
/// ed25519-sha256, chosen by the key). Every message is signed as it is handed to the transport,
/// after the renderer spliced in the reader's links, so each signature covers exactly what that
/// reader gets; the List-Unsubscribe headers are signed, so nobody on the way can swap the link.
/// </summary>
/// <remarks>
/// The RSA signature itself is made by .NET's (OpenSSL's) RSA rather than BouncyCastle's, which
/// is several times slower per signature: at thousands of digests a second the private-key
/// operation is most of the cost. The body hash cannot be shared between readers: each body
/// carries that reader's own links.
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

    private readonly Lazy<FastDkimSigner> _signer = new(() => Create(options.Value, time));

    public bool Enabled => options.Value.Enabled;

    /// <summary>Adds the DKIM-Signature header. The body must not change after this (MailKit sends 8-bit parts as they are to a relay with 8BITMIME).</summary>
    public void Sign(MimeMessage message)
    {
        // Encode as the transport will, before hashing: what is hashed must be what goes out.
        message.Prepare(EncodingConstraint.EightBit);
        _signer.Value.Sign(message, SignedHeaders);
    }

    /// <summary>The DNS TXT record to publish for the configured key.</summary>
    public string DnsRecord() => DkimKeys.DnsRecord(options.Value.Selector!, options.Value.Domain!, DkimKeys.Load(KeyPath(options.Value)));

    internal static string KeyPath(DkimOptions options) => PathResolver.FromCurrentDirectory(options.PrivateKeyPath!);

    private static FastDkimSigner Create(DkimOptions options, TimeProvider time)
    {
        var key = DkimKeys.Load(KeyPath(options));
        return new FastDkimSigner(key, options.Domain!.Trim(), options.Selector!.Trim(), time)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
    }

    /// <summary>MimeKit's signer with our clock and, for RSA, the platform's RSA.</summary>
    private sealed class FastDkimSigner : DkimSigner
    {
        private readonly TimeProvider _time;
        private readonly RSAParameters? _rsa;
        // One RSA object per thread: an instance is not documented as safe for concurrent use.
        private readonly ThreadLocal<RSA>? _rsaPerThread;

        public FastDkimSigner(AsymmetricKeyParameter key, string domain, string selector, TimeProvider time)
            : base(key, domain, selector, key is Ed25519PrivateKeyParameters ? DkimSignatureAlgorithm.Ed25519Sha256 : DkimSignatureAlgorithm.RsaSha256)
        {
            _time = time;
            if (key is RsaPrivateCrtKeyParameters rsa)
            {
                _rsa = Org.BouncyCastle.Security.DotNetUtilities.ToRSAParameters(rsa);
                _rsaPerThread = new ThreadLocal<RSA>(() => { var r = RSA.Create(); r.ImportParameters(_rsa.Value); return r; });
            }
        }

        protected override long GetTimestamp() => _time.GetUtcNow().ToUnixTimeSeconds();

        protected override ISigner CreateSigningContext() =>
            _rsaPerThread is not null ? new PlatformRsaSha256Signer(_rsaPerThread.Value!) : base.CreateSigningContext();
    }

    /// <summary>RSASSA-PKCS1-v1_5 over SHA-256 (rsa-sha256) through System.Security.Cryptography, as BouncyCastle's ISigner.</summary>
    private sealed class PlatformRsaSha256Signer(RSA rsa) : ISigner
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public string AlgorithmName => "SHA-256withRSA";

        public void Init(bool forSigning, ICipherParameters parameters) { }

        public void Update(byte input) => _hash.AppendData([input]);

        public void BlockUpdate(byte[] input, int inOff, int inLen) => _hash.AppendData(input, inOff, inLen);

        public void BlockUpdate(ReadOnlySpan<byte> input) => _hash.AppendData(input);

        public int GetMaxSignatureSize() => rsa.KeySize / 8;

        public byte[] GenerateSignature()
        {
            var digest = _hash.GetHashAndReset();
            return rsa.SignHash(digest, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }

        public bool VerifySignature(byte[] signature) => throw new NotSupportedException("This signer only signs.");

        public void Reset() => _hash.GetHashAndReset();
    }
}

/// <summary>Reading a DKIM private key and the public half for DNS.</summary>
public static class DkimKeys
{
    /// <summary>The private key in a PEM file (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY"); throws <see cref="FormatException"/> or an IO exception with the reason.</summary>
    public static AsymmetricKeyParameter Load(string path)
    {
        using var reader = new StreamReader(path);
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
        if (!options.Enabled || string.IsNullOrWhiteSpace(options.PrivateKeyPath))
            yield break; // DkimOptionsValidator names what is missing
        var path = DkimSigning.KeyPath(options);
        string? problem = null;
        try
        {
            DkimKeys.Load(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
        {
            problem = exception is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : exception.Message;
        }
        if (problem is not null)
            yield return $"{DkimOptions.Section}:PrivateKeyPath: the DKIM key '{path}' cannot be used: {problem}.";
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
