namespace Dsoup.Engine.Tensors;

/// <summary>The dimensions of a dense, row-major tensor. Rank 0 is a scalar holding one element.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    private readonly int[]? dims;

    public Shape(params int[] dims)
    {
        foreach (int d in dims)
        {
            if (d < 0)
            {
                throw new ArgumentException($"shape {Format(dims)} has a negative dimension");
            }
        }
        this.dims = (int[])dims.Clone();
    }

    public static Shape Scalar => new([]);

    public int Rank => dims?.Length ?? 0;

    public ReadOnlySpan<int> Dims => dims;

    public long Count
    {
        get
        {
            long count = 1;
            foreach (int d in Dims)
            {
                count = checked(count * d);
            }
            return count;
        }
    }

    /// <summary>The size of <paramref name="axis"/>; negative axes count from the end.</summary>
    public int this[int axis] => Dims[Axis(axis)];

    /// <summary>Maps a possibly negative axis into [0, Rank), or throws naming the shape.</summary>
    public int Axis(int axis)
    {
        int normalized = axis < 0 ? axis + Rank : axis;
        if (normalized < 0 || normalized >= Rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} is out of range for shape {this} (rank {Rank})");
        }
        return normalized;
    }

    /// <summary>Product of the dimensions in [start, end).</summary>
    public long Product(int start, int end)
    {
        long product = 1;
        for (int i = start; i < end; i++)
        {
            product *= Dims[i];
        }
        return product;
    }

    public Shape Replace(int axis, int size)
    {
        int[] copy = Dims.ToArray();
        copy[Axis(axis)] = size;
        return new Shape(copy);
    }

    public Shape Remove(int axis)
    {
        int a = Axis(axis);
        var list = Dims.ToArray().ToList();
        list.RemoveAt(a);
        return new Shape([.. list]);
    }

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    public override bool Equals(object? obj) => obj is Shape other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int d in Dims)
        {
            hash.Add(d);
        }
        return hash.ToHashCode();
    }

    public static bool operator ==(Shape left, Shape right) => left.Equals(right);

    public static bool operator !=(Shape left, Shape right) => !left.Equals(right);

    public override string ToString() => Format(Dims);

    private static string Format(ReadOnlySpan<int> dims) => "[" + string.Join(", ", dims.ToArray()) + "]";

    public static implicit operator Shape(int[] dims) => new(dims);
}
