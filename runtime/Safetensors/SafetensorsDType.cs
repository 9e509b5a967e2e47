namespace Embedded.Rnn.Safetensors;

/// <summary>Element types a safetensors header can name.</summary>
public enum SafetensorsDType
{
    /// <summary>bool, 1 byte.</summary>
    Bool,
    /// <summary>unsigned 8-bit.</summary>
    U8,
    /// <summary>signed 8-bit.</summary>
    I8,
    /// <summary>signed 16-bit.</summary>
    I16,
    /// <summary>unsigned 16-bit.</summary>
    U16,
    /// <summary>IEEE half.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>signed 32-bit.</summary>
    I32,
    /// <summary>unsigned 32-bit.</summary>
    U32,
    /// <summary>IEEE single (what models load).</summary>
    F32,
    /// <summary>signed 64-bit.</summary>
    I64,
    /// <summary>unsigned 64-bit.</summary>
    U64,
    /// <summary>IEEE double.</summary>
    F64,
}

internal static class SafetensorsDTypes
{
    public static bool TryParse(string text, out SafetensorsDType dtype)
    {
        switch (text)
        {
            case "BOOL": dtype = SafetensorsDType.Bool; return true;
            case "U8": dtype = SafetensorsDType.U8; return true;
            case "I8": dtype = SafetensorsDType.I8; return true;
            case "I16": dtype = SafetensorsDType.I16; return true;
            case "U16": dtype = SafetensorsDType.U16; return true;
            case "F16": dtype = SafetensorsDType.F16; return true;
            case "BF16": dtype = SafetensorsDType.BF16; return true;
            case "I32": dtype = SafetensorsDType.I32; return true;
            case "U32": dtype = SafetensorsDType.U32; return true;
            case "F32": dtype = SafetensorsDType.F32; return true;
            case "I64": dtype = SafetensorsDType.I64; return true;
            case "U64": dtype = SafetensorsDType.U64; return true;
            case "F64": dtype = SafetensorsDType.F64; return true;
            default: dtype = default; return false;
        }
    }

    public static string Name(SafetensorsDType dtype) => dtype == SafetensorsDType.Bool ? "BOOL" : dtype.ToString();

    public static int Size(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.Bool or SafetensorsDType.U8 or SafetensorsDType.I8 => 1,
        SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.F32 => 4,
        _ => 8,
    };
}
