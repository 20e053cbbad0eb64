using System.Buffers.Binary;
using System.Numerics.Tensors;

namespace Newsletter.Model;

/// <summary>
/// A paper's sentence embedding as stored (<c>entries.embedding</c>): <see cref="Dimensions"/> float32 values,
/// little-endian, scaled to unit length so that a dot product is the cosine similarity.
/// </summary>
public static class PaperVector
{
    /// <summary>all-MiniLM-L6-v2's output size.</summary>
    public const int Dimensions = 384;

    public static byte[] ToBytes(ReadOnlySpan<float> vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        return bytes;
    }

    /// <summary>The stored vector, or null for none or one that is not of this model's size (never trusted blindly: the column is data).</summary>
    public static float[]? FromBytes(byte[]? bytes)
    {
        if (bytes is null || bytes.Length != Dimensions * sizeof(float))
            return null;
        var vector = new float[Dimensions];
        for (var i = 0; i < vector.Length; i++)
            vector[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        return vector.All(float.IsFinite) ? vector : null;
    }

    /// <summary>The vector scaled to unit length (a zero vector stays zero).</summary>
    public static float[] Normalised(ReadOnlySpan<float> vector)
    {
        var copy = vector.ToArray();
        var norm = TensorPrimitives.Norm(copy);
        if (norm > 0)
            TensorPrimitives.Divide(copy, norm, copy);
        return copy;
    }

    public static float Similarity(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => TensorPrimitives.Dot(a, b);
}
