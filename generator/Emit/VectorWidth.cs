using System.Linq;
using Embedded.Rnn.Generator.Layout;

namespace Embedded.Rnn.Generator.Emit;

/// <summary>
/// One instruction-set path and how generated code spells its operations: loads, broadcasts, fused multiply-adds and
/// stores on <c>Vector512</c>, <c>Vector256</c>, <c>Vector128</c>, or plain floats for the scalar twin. Every kernel is
/// written once against this table and emitted for each path, so what is tested on one width carries to the others.
/// </summary>
internal sealed class VectorWidth
{
    private VectorWidth(KernelPath path)
    {
        Name = path.ToString();
        Lanes = KernelLayout.Lanes(path);
        Type = Lanes == 1 ? "float" : Name + "<float>";
    }

    /// <summary>Every path, widest first (the order kernels are emitted and chosen in).</summary>
    public static readonly VectorWidth[] All = KernelLayout.WidestFirst.Select(p => new VectorWidth(p)).ToArray();

    /// <summary>"Vector512", ..., "Scalar": the KernelPath member and the suffix of this path's kernels.</summary>
    public string Name { get; }

    public int Lanes { get; }

    public bool IsScalar => Lanes == 1;

    /// <summary>The vector type: <c>Vector512&lt;float&gt;</c>, ..., <c>float</c>.</summary>
    public string Type { get; }

    /// <summary>The type arguments of the runtime's pointwise operators for this width: the width, then the vector type.</summary>
    public string PointwiseArguments => Name + "Width, " + Type;

    public string Zero => IsScalar ? "0f" : Type + ".Zero";

    /// <summary>The vector at <paramref name="reference"/> + <paramref name="offset"/> floats.</summary>
    public string Load(string reference, string offset) =>
        IsScalar ? Element(reference, offset) : offset == "0" ? $"{Name}.LoadUnsafe(ref {reference})" : $"{Name}.LoadUnsafe(ref {reference}, {offset})";

    /// <summary>
    /// The tile's load step for packed weights: the one place that knows how weights are stored. Float32 weights load as
    /// floats; bfloat16 weights, and int8 weights (held as bfloat16), are widened to floats by the runtime's
    /// <c>BFloat16Weights</c> (int8 rows are scaled once per tile, from the tile's header). <paramref name="column"/> is the
    /// column's index (or its parity), which says which half of a column pair it is.
    /// </summary>
    public string LoadWeight(WeightStorage storage, string reference, string offset, int column) => storage switch
    {
        WeightStorage.Float32 => Load(reference, offset),
        // Paired columns (KernelLayout.PairsColumns): the even column is the low halves, the odd one the high halves. Int8
        // weights are held as bfloat16 (exact), so they load alike.
        WeightStorage.BFloat16 or WeightStorage.Int8 => $"BFloat16Weights.Load{(column % 2 == 0 ? "Low" : "High")}{Name}(ref {reference}, {offset})",
        _ => throw new System.ArgumentOutOfRangeException(nameof(storage), storage, "no load step for this weight storage"),
    };

    /// <summary>
    /// A float32 vector of the header of the tile whose weights start at <paramref name="weights"/> (a bias or an int8
    /// scale), <paramref name="offset"/> floats in: read from the weights themselves when they are floats, else through the
    /// tile's <c>header</c> local (<see cref="HeaderDeclaration"/>), since the header is float32 whatever the storage.
    /// </summary>
    public string LoadHeader(WeightStorage storage, string weights, string offset) =>
        Load(storage == WeightStorage.Float32 ? weights : "header", offset);

    /// <summary>The declaration of a tile's <c>header</c> local (<see cref="LoadHeader"/>), or null where the weights are floats themselves.</summary>
    public static string? HeaderDeclaration(WeightStorage storage, string weights) =>
        storage == WeightStorage.Float32 ? null : $"ref float header = ref Unsafe.As<Weight, float>(ref {weights}); // biases and scales, float32";

    /// <summary>The C# type packed weights are stored in (the generated <c>Weight</c> alias): bfloat16 as its bits.</summary>
    public static string WeightType(WeightStorage storage) => storage switch
    {
        WeightStorage.Float32 => "System.Single",
        WeightStorage.BFloat16 or WeightStorage.Int8 => "System.UInt16", // int8: held as the bfloat16 of each integer (exact)
        _ => throw new System.ArgumentOutOfRangeException(nameof(storage), storage, "no C# type for this weight storage"),
    };

    /// <summary>The packed weights of block <paramref name="block"/> as the kernels' <c>ref Weight</c>.</summary>
    public static string BlockReference(WeightStorage storage, string weights, string block) =>
        storage == WeightStorage.Float32 ? $"ref {weights}.Block({block})" : $"ref {weights}.Block<Weight>({block})";

    public string Store(string value, string reference, string offset) =>
        IsScalar ? $"{Element(reference, offset)} = {value};" : offset == "0" ? $"{Name}.StoreUnsafe({value}, ref {reference});" : $"{Name}.StoreUnsafe({value}, ref {reference}, {offset});";

    /// <summary>The float at <paramref name="reference"/> + <paramref name="offset"/>, as a vector of copies.</summary>
    public string Broadcast(string reference, string offset) =>
        IsScalar ? Element(reference, offset) : $"{Name}.Create({Element(reference, offset)})";

    /// <summary>a · b + c: fused (MultiplyAddEstimate) on vectors; on the scalar twin a plain multiply and add, as the runtime's scalar operators.</summary>
    public string MultiplyAdd(string a, string b, string c) => IsScalar ? $"{a} * {b} + {c}" : $"{Name}.MultiplyAddEstimate({a}, {b}, {c})";

    /// <summary>The sum of a vector's lanes: the runtime width's tree (IVectorWidth.Sum), the same order in every kernel.</summary>
    public string Sum(string vector) => IsScalar ? vector : $"{Name}Width.Sum({vector})";

    /// <summary>The float at reference + offset, as a variable.</summary>
    public static string Element(string reference, string offset) => offset == "0" ? reference : $"Unsafe.Add(ref {reference}, {offset})";
}
