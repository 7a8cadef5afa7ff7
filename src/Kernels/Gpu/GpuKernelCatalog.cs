using System.Reflection;

namespace Dsoup.Kernels.Gpu;

/// <summary>
/// Every <see cref="GpuKernelAttribute"/> kernel in this assembly, closed over every dtype it can be
/// launched with: generic kernels take one (T, E) type pair per dtype they handle, and a kernel whose
/// constraints admit fewer dtypes (the tensor-core kernels take only the 16-bit ones) gets just those.
/// </summary>
public static class GpuKernelCatalog
{
    private static readonly (Type Storage, Type Element)[] ElementTypes =
    [
        (typeof(float), typeof(F32Element)),
        (typeof(ILGPU.Half), typeof(F16Element)),
        (typeof(ushort), typeof(BF16Element)),
    ];

    public static IEnumerable<MethodInfo> Kernels() =>
        typeof(GpuKernelCatalog).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            .Where(m => m.GetCustomAttribute<GpuKernelAttribute>() is not null)
            .OrderBy(m => m.DeclaringType!.Name + "." + m.Name);

    /// <summary>Each kernel with every dtype combination bound to its type parameters.</summary>
    public static IEnumerable<MethodInfo> Instantiations()
    {
        foreach (MethodInfo kernel in Kernels())
        {
            if (!kernel.IsGenericMethodDefinition)
            {
                yield return kernel;
                continue;
            }
            int pairs = kernel.GetGenericArguments().Length / 2;
            foreach (Type[] arguments in Combinations(pairs))
            {
                if (TryClose(kernel, arguments) is { } closed)
                {
                    yield return closed;
                }
            }
        }
    }

    private static MethodInfo? TryClose(MethodInfo kernel, Type[] arguments)
    {
        try
        {
            return kernel.MakeGenericMethod(arguments);
        }
        catch (ArgumentException)
        {
            return null; // a type argument violates the kernel's constraints
        }
    }

    private static IEnumerable<Type[]> Combinations(int pairs)
    {
        if (pairs == 0)
        {
            yield return [];
            yield break;
        }
        foreach (Type[] rest in Combinations(pairs - 1))
        {
            foreach ((Type storage, Type element) in ElementTypes)
            {
                yield return [storage, element, .. rest];
            }
        }
    }
}
