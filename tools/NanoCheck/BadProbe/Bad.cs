namespace Embedded.Rnn.NanoBadProbe
{
    // Each member holds one construct the compiler accepts against nanoFramework's mscorlib but nanoFramework rejects.
    public class Box<T>
    {
        public T Value;
    }

    public static class Bad
    {
        public static float[,] Grid = new float[2, 3];

        public static T Identity<T>(T value)
        {
            return value;
        }

        public static int UseGenerics()
        {
            var box = new Box<int>();
            box.Value = 3;
            return Identity(box.Value);
        }

        public static unsafe float Sum(float* values, int count)
        {
            float* scratch = stackalloc float[4];
            scratch[0] = 0f;
            for (int i = 0; i < count; i++)
            {
                scratch[0] += values[i];
            }

            return scratch[0];
        }

        public static unsafe float First(float[] values)
        {
            fixed (float* p = values)
            {
                return *p;
            }
        }
    }
}
