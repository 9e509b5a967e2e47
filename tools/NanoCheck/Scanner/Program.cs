using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

// Usage: NanoScanner [--expect-reject] <assembly.dll>...
// For each assembly, runs every check below and prints PASS or FAIL with what it found. With --expect-reject
// (a negative control built to contain forbidden constructs), an assembly counts as passed when some check
// rejects it. Ends with "N passed, N failed" and exits non-zero on any failure.
bool expectReject = args.Contains("--expect-reject");
var files = args.Where(a => a != "--expect-reject").ToArray();
if (files.Length == 0)
{
    Console.Error.WriteLine("usage: NanoScanner [--expect-reject] <assembly.dll>...");
    return 2;
}

int passed = 0, failed = 0;
foreach (string file in files)
{
    Console.WriteLine($"== {file}{(expectReject ? " (negative control: must be rejected)" : string.Empty)}");
    if (!File.Exists(file))
    {
        Console.WriteLine("FAIL: file not found");
        failed++;
        continue;
    }

    var results = Scanner.Scan(file);
    foreach (var (check, problems) in results)
    {
        Console.WriteLine(problems.Count == 0 ? $"  ok   {check}" : $"  FAIL {check}: {problems.Count} finding(s)");
        foreach (string problem in problems.Take(20))
        {
            Console.WriteLine($"         {problem}");
        }

        if (problems.Count > 20)
        {
            Console.WriteLine($"         ... and {problems.Count - 20} more");
        }
    }

    int rejecting = results.Count(r => r.Problems.Count > 0);
    if (expectReject)
    {
        bool ok = rejecting > 0;
        Console.WriteLine(ok ? $"PASS: negative control rejected by {rejecting} check(s)" : "FAIL: negative control was not rejected");
        if (ok) { passed++; } else { failed++; }
    }
    else
    {
        Console.WriteLine(rejecting == 0 ? $"PASS: {results.Count} checks clean" : $"FAIL: {rejecting} of {results.Count} checks found problems");
        if (rejecting == 0) { passed++; } else { failed++; }
    }
}

Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;

internal static class Scanner
{
    public static List<(string Check, List<string> Problems)> Scan(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var provider = new ShapeProvider(md);
        var results = new List<(string, List<string>)>();

        // 1. Only mscorlib may be referenced: a nanoFramework assembly is deployed with its references as .pe files.
        var refs = new List<string>();
        foreach (var handle in md.AssemblyReferences)
        {
            string name = md.GetString(md.GetAssemblyReference(handle).Name);
            if (name != "mscorlib")
            {
                refs.Add($"assembly reference '{name}'");
            }
        }

        results.Add(("assembly references are mscorlib only", refs));

        // 2. No native code: module references and P/Invoke imports.
        var native = new List<string>();
        for (int row = 1; row <= md.GetTableRowCount(TableIndex.ModuleRef); row++)
        {
            native.Add($"module reference '{md.GetString(md.GetModuleReference(MetadataTokens.ModuleReferenceHandle(row)).Name)}'");
        }

        foreach (var handle in md.MethodDefinitions)
        {
            var method = md.GetMethodDefinition(handle);
            if (!method.GetImport().Module.IsNil)
            {
                native.Add($"P/Invoke {Name(md, method)}");
            }
        }

        results.Add(("no module references or P/Invoke", native));

        // 3. No generic definitions: generic types or methods declared in the assembly.
        var genericDefs = new List<string>();
        foreach (var handle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(handle);
            if (type.GetGenericParameters().Count > 0)
            {
                genericDefs.Add($"generic type {TypeName(md, type)}");
            }

            foreach (var m in type.GetMethods())
            {
                var method = md.GetMethodDefinition(m);
                if (method.GetGenericParameters().Count > 0)
                {
                    genericDefs.Add($"generic method {Name(md, method)}");
                }
            }
        }

        results.Add(("no generic type or method definitions", genericDefs));

        // 4. No generic method instantiations (MethodSpec).
        var methodSpecs = new List<string>();
        foreach (var handle in EnumerateMethodSpecs(md))
        {
            var spec = md.GetMethodSpecification(handle);
            var args = spec.DecodeSignature(provider, provider.Use(new Context("MethodSpec")));
            methodSpecs.Add($"generic method instantiation <{string.Join(", ", args)}>");
        }

        results.Add(("no generic method instantiations (MethodSpec)", methodSpecs));

        // 5. TypeSpecs: generic instantiations, pointers, function pointers, multi-dimensional arrays, generic parameters.
        results.Add(("type specifications", Collect(ctx =>
        {
            for (int row = 1; row <= md.GetTableRowCount(TableIndex.TypeSpec); row++)
            {
                var handle = MetadataTokens.TypeSpecificationHandle(row);
                md.GetTypeSpecification(handle).DecodeSignature(provider, provider.Use(ctx.At($"TypeSpec 0x{MetadataTokens.GetToken(handle):X8}")));
            }
        }, provider)));

        // 6. Field signatures.
        results.Add(("field signatures", Collect(ctx =>
        {
            foreach (var handle in md.FieldDefinitions)
            {
                var field = md.GetFieldDefinition(handle);
                var owner = md.GetTypeDefinition(field.GetDeclaringType());
                field.DecodeSignature(provider, provider.Use(ctx.At($"field {TypeName(md, owner)}.{md.GetString(field.Name)}")));
            }
        }, provider)));

        // 7. Method signatures (parameters and return types), and properties.
        results.Add(("method and property signatures", Collect(ctx =>
        {
            foreach (var handle in md.MethodDefinitions)
            {
                var method = md.GetMethodDefinition(handle);
                method.DecodeSignature(provider, provider.Use(ctx.At($"method {Name(md, method)}")));
            }

            foreach (var handle in md.PropertyDefinitions)
            {
                var property = md.GetPropertyDefinition(handle);
                property.DecodeSignature(provider, provider.Use(ctx.At($"property {md.GetString(property.Name)}")));
            }
        }, provider)));

        // 8. Member references: methods and fields used from mscorlib (or from TypeSpecs).
        results.Add(("member reference signatures", Collect(ctx =>
        {
            foreach (var handle in md.MemberReferences)
            {
                var member = md.GetMemberReference(handle);
                string where = $"member reference {ParentName(md, member.Parent)}.{md.GetString(member.Name)}";
                if (member.GetKind() == MemberReferenceKind.Method)
                {
                    member.DecodeMethodSignature(provider, provider.Use(ctx.At(where)));
                }
                else
                {
                    member.DecodeFieldSignature(provider, provider.Use(ctx.At(where)));
                }
            }
        }, provider)));

        // 9. Standalone signatures: method locals (pinned locals too) and calli sites.
        results.Add(("local variable and call-site signatures", Collect(ctx =>
        {
            for (int row = 1; row <= md.GetTableRowCount(TableIndex.StandAloneSig); row++)
            {
                var handle = MetadataTokens.StandaloneSignatureHandle(row);
                var signature = md.GetStandaloneSignature(handle);
                string where = $"signature 0x{MetadataTokens.GetToken(handle):X8}";
                if (signature.GetKind() == StandaloneSignatureKind.LocalVariables)
                {
                    var reader = md.GetBlobReader(signature.Signature);
                    reader.ReadSignatureHeader();
                    int count = reader.ReadCompressedInteger();
                    for (int i = 0; i < count; i++)
                    {
                        // The decoder reports 'pinned' (fixed statements) through GetPinnedType.
                        new SignatureDecoder<string, Context>(provider, md, provider.Use(ctx.At($"{where} local {i}"))).DecodeType(ref reader, allowTypeSpecifications: true);
                    }
                }
                else
                {
                    signature.DecodeMethodSignature(provider, provider.Use(ctx.At(where)));
                    ctx.At(where).Report("calli (function pointer call)");
                }
            }
        }, provider)));

        // 10. Method bodies: localloc (stackalloc) and the unsafe/pointer opcodes the signatures might not show.
        var bodies = new List<string>();
        foreach (var handle in md.MethodDefinitions)
        {
            var method = md.GetMethodDefinition(handle);
            if (method.RelativeVirtualAddress == 0)
            {
                continue;
            }

            var body = pe.GetMethodBody(method.RelativeVirtualAddress);
            foreach (string op in IL.Forbidden(body.GetILBytes()!))
            {
                bodies.Add($"{op} in {Name(md, method)}");
            }
        }

        results.Add(("method bodies (no localloc/stackalloc, calli or typed references)", bodies));
        return results;
    }

    private static IEnumerable<MethodSpecificationHandle> EnumerateMethodSpecs(MetadataReader md)
    {
        for (int row = 1; row <= md.GetTableRowCount(TableIndex.MethodSpec); row++)
        {
            yield return MetadataTokens.MethodSpecificationHandle(row);
        }
    }

    private static List<string> Collect(Action<Context> scan, ShapeProvider provider)
    {
        var context = new Context("");
        scan(context);
        return context.Problems;
    }

    internal static string TypeName(MetadataReader md, TypeDefinition type)
    {
        string ns = md.GetString(type.Namespace);
        string name = md.GetString(type.Name);
        if (type.GetDeclaringType() is { IsNil: false } outer)
        {
            return TypeName(md, md.GetTypeDefinition(outer)) + "/" + name;
        }

        return ns.Length == 0 ? name : ns + "." + name;
    }

    private static string Name(MetadataReader md, MethodDefinition method) =>
        TypeName(md, md.GetTypeDefinition(method.GetDeclaringType())) + "." + md.GetString(method.Name);

    private static string ParentName(MetadataReader md, EntityHandle parent) => parent.Kind switch
    {
        HandleKind.TypeReference => ShapeProvider.RefName(md, (TypeReferenceHandle)parent),
        HandleKind.TypeDefinition => TypeName(md, md.GetTypeDefinition((TypeDefinitionHandle)parent)),
        HandleKind.TypeSpecification => $"TypeSpec 0x{MetadataTokens.GetToken(parent):X8}",
        _ => parent.Kind.ToString(),
    };
}

/// <summary>Where a signature is decoded, and the problems found in it.</summary>
internal sealed class Context(string where, List<string>? problems = null)
{
    public List<string> Problems { get; } = problems ?? new List<string>();

    public Context At(string where) => new(where, Problems);

    public void Report(string what) => Problems.Add($"{what} in {where}");
}

/// <summary>Decodes signatures to readable names, reporting every shape nanoFramework 1.x cannot load.</summary>
internal sealed class ShapeProvider(MetadataReader md) : ISignatureTypeProvider<string, Context>
{
    private Context _current = new("(nowhere)");

    public MetadataReader Reader => md;

    /// <summary>Makes <paramref name="context"/> the one that callbacks without a context report to.</summary>
    public Context Use(Context context)
    {
        _current = context;
        return context;
    }

    public string GetPrimitiveType(PrimitiveTypeCode typeCode)
    {
        if (typeCode == PrimitiveTypeCode.TypedReference)
        {
            _current.Report("typed reference (TypedReference)");
            return "typedref";
        }

        return typeCode.ToString();
    }

    public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) =>
        Scanner.TypeName(reader, reader.GetTypeDefinition(handle));

    public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => RefName(reader, handle);

    public string GetTypeFromSpecification(MetadataReader reader, Context context, TypeSpecificationHandle handle, byte rawTypeKind) =>
        reader.GetTypeSpecification(handle).DecodeSignature(this, context);

    public string GetSZArrayType(string elementType) => elementType + "[]";

    public string GetArrayType(string elementType, ArrayShape shape)
    {
        string type = elementType + "[" + new string(',', shape.Rank - 1) + "]";
        _current.Report($"multi-dimensional (or non-zero-based) array {type}");
        return type;
    }

    public string GetByReferenceType(string elementType) => elementType + "&";

    public string GetPointerType(string elementType)
    {
        _current.Report($"pointer type {elementType}*");
        return elementType + "*";
    }

    public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments)
    {
        string type = genericType + "<" + string.Join(", ", typeArguments) + ">";
        _current.Report($"generic instantiation {type}");
        return type;
    }

    public string GetGenericTypeParameter(Context context, int index)
    {
        context.Report($"generic type parameter !{index}");
        return "!" + index;
    }

    public string GetGenericMethodParameter(Context context, int index)
    {
        context.Report($"generic method parameter !!{index}");
        return "!!" + index;
    }

    public string GetFunctionPointerType(MethodSignature<string> signature)
    {
        _current.Report("function pointer type");
        return "method*";
    }

    public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;

    public string GetPinnedType(string elementType)
    {
        _current.Report($"pinned {elementType} (fixed statement)");
        return elementType + " pinned";
    }

    public static string RefName(MetadataReader reader, TypeReferenceHandle handle)
    {
        var type = reader.GetTypeReference(handle);
        string ns = reader.GetString(type.Namespace);
        string name = reader.GetString(type.Name);
        return ns.Length == 0 ? name : ns + "." + name;
    }
}

/// <summary>Walks IL bodies opcode by opcode (ECMA-335 III) for instructions nanoFramework has no use for or cannot run.</summary>
internal static class IL
{
    public static IEnumerable<string> Forbidden(byte[] il)
    {
        int i = 0;
        while (i < il.Length)
        {
            int op = il[i++];
            if (op == 0xFE)
            {
                int second = il[i++];
                switch (second)
                {
                    case 0x00: yield return "arglist"; break;
                    case 0x0F: yield return "localloc (stackalloc)"; break;
                    case 0x17: yield return "cpblk"; break;
                    case 0x18: yield return "initblk"; break;
                    case 0x1C: yield return "sizeof"; break;
                    case 0x1D: yield return "refanytype"; break;
                }

                i += second switch
                {
                    0x06 or 0x07 or 0x15 or 0x16 or 0x1C => 4,
                    0x09 or 0x0A or 0x0B or 0x0C or 0x0D or 0x0E => 2,
                    0x12 or 0x19 => 1,
                    _ => 0,
                };
                continue;
            }

            switch (op)
            {
                case 0x29: yield return "calli"; break;
                case 0xC2: yield return "refanyval"; break;
                case 0xC6: yield return "mkrefany"; break;
            }

            if (op == 0x45)
            {
                int count = BitConverter.ToInt32(il, i);
                i += 4 + 4 * count;
                continue;
            }

            i += op switch
            {
                0x0E or 0x0F or 0x10 or 0x11 or 0x12 or 0x13 or 0x1F or (>= 0x2B and <= 0x37) or 0xDE => 1,
                0x21 or 0x23 => 8,
                0x20 or 0x22 or 0x27 or 0x28 or 0x29 or (>= 0x38 and <= 0x44) or 0x6F or 0x70 or 0x71 or 0x72 or 0x73 or 0x74
                    or 0x75 or 0x79 or 0x7B or 0x7C or 0x7D or 0x7E or 0x7F or 0x80 or 0x81 or 0x8C or 0x8D or 0x8F or 0xA3
                    or 0xA4 or 0xA5 or 0xC2 or 0xC6 or 0xD0 or 0xDD => 4,
                _ => 0,
            };
        }
    }
}
