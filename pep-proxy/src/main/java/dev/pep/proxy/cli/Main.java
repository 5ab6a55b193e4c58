package dev.pep.proxy.cli; final class Main { public static void main(String[] a) {} }
